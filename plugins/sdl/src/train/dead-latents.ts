import { type Generator, type Optimizer, type Tensor, noGrad, sub, sum, tensor } from '@glassbox/tensor';
import type { SparseAutoencoder } from '../sae/sparse-autoencoder.ts';

/**
 * Counts, per latent, the tokens seen since it last fired. A latent is dead once that count
 * reaches the window (in tokens), as in SAELens's dead_feature_window and sparsify's
 * dead_feature_threshold.
 */
export class DeadLatentTracker {
  readonly window: number;
  readonly sinceFired: Float64Array;

  constructor(width: number, windowTokens: number) {
    this.window = windowTokens;
    this.sinceFired = new Float64Array(width);
  }

  /** Adds a batch: latents that fired on any of its rows restart at zero. */
  update(firing: Int32Array, batchTokens: number): void {
    for (let j = 0; j < firing.length; j++) this.sinceFired[j] = firing[j]! > 0 ? 0 : this.sinceFired[j]! + batchTokens;
  }

  /** Nonzero for dead latents. // [d_sae] */
  deadMask(): Uint8Array {
    return Uint8Array.from(this.sinceFired, (t) => (t >= this.window ? 1 : 0));
  }

  deadCount(): number {
    let n = 0;
    for (const t of this.sinceFired) if (t >= this.window) n++;
    return n;
  }

  /** Gives latents a fresh window, after resampling them. */
  reset(latents: Iterable<number>): void {
    for (const j of latents) this.sinceFired[j] = 0;
  }
}

function rowNorm(data: Float32Array, base: number, d: number, stride = 1): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += data[base + j * stride]! ** 2;
  return Math.sqrt(s);
}

/** Zeroes the optimizer's moment estimates at the given flat positions of each parameter. */
function resetOptimizerState(optimizer: Optimizer, positions: Map<Tensor, number[]>): void {
  const dict = optimizer.stateDict();
  dict.state = dict.state.map((entry, i) => {
    const p = optimizer.params[i]!;
    const where = positions.get(p);
    if (!entry || !where) return entry;
    const out: Record<string, Tensor | number> = {};
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'number' || value.size !== p.size) {
        out[key] = value;
        continue;
      }
      const data = Float32Array.from(value.data());
      for (const k of where) data[k] = 0;
      out[key] = tensor(data, { shape: value.shape, backend: value.backend });
    }
    return out;
  });
  optimizer.loadStateDict(dict);
}

export interface ResampleResult {
  resampled: number[];
}

/**
 * Resamples dead latents (Anthropic, Towards Monosemanticity, 2023): inputs are drawn with
 * probability proportional to their squared reconstruction loss; each dead latent's decoder row
 * becomes a drawn input (centred, unit length, scaled to the mean live decoder norm), its encoder
 * column the same direction times 0.2 · the mean live encoder norm, its biases zero, and its
 * optimizer moments are reset. x is a batch of (normalised) activations [batch, d_in].
 */
export function resampleDeadLatents(sae: SparseAutoencoder, x: Tensor, dead: Uint8Array, optimizer: Optimizer, generator: Generator): ResampleResult {
  const latents: number[] = [];
  dead.forEach((d, j) => {
    if (d) latents.push(j);
  });
  if (latents.length === 0) return { resampled: [] };
  const [batch, dIn, dSae] = [x.shape[0]!, sae.dIn, sae.dSae];
  const losses = noGrad(() => {
    const diff = sub(sae.forward(x), x);
    return sum(diff.mul(diff), 1).data();
  });
  const weights = Array.from(losses, (l) => l * l);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const picks = totalWeight > 0 ? generator.multinomial(weights, latents.length, true) : Int32Array.from(latents, () => generator.randint(0, batch));
  const xs = x.data() as Float32Array;
  const bDec = sae.b_dec.data() as Float32Array;
  const Wenc = sae.W_enc.data() as Float32Array;
  const Wdec = sae.W_dec.data() as Float32Array;
  let encNorm = 0;
  let decNorm = 0;
  let alive = 0;
  for (let j = 0; j < dSae; j++) {
    if (dead[j]) continue;
    alive++;
    encNorm += rowNorm(Wenc, j, dIn, dSae);
    decNorm += rowNorm(Wdec, j * dIn, dIn);
  }
  encNorm = alive > 0 ? encNorm / alive : 1;
  decNorm = alive > 0 ? decNorm / alive : 1;
  const encPositions: number[] = [];
  const decPositions: number[] = [];
  latents.forEach((j, i) => {
    const r = picks[i]!;
    const v = new Float64Array(dIn);
    for (let c = 0; c < dIn; c++) v[c] = xs[r * dIn + c]! - (sae.config.applyBDecToInput ? bDec[c]! : 0);
    const n = Math.sqrt(v.reduce((a, b) => a + b * b, 0)) || 1;
    for (let c = 0; c < dIn; c++) {
      const u = v[c]! / n;
      Wdec[j * dIn + c] = u * decNorm;
      Wenc[c * dSae + j] = u * 0.2 * encNorm;
      decPositions.push(j * dIn + c);
      encPositions.push(c * dSae + j);
    }
  });
  const positions = new Map<Tensor, number[]>([
    [sae.W_enc, encPositions],
    [sae.W_dec, decPositions],
  ]);
  noGrad(() => {
    sae.W_enc.copyFrom(tensor(Wenc, { shape: sae.W_enc.shape }));
    sae.W_dec.copyFrom(tensor(Wdec, { shape: sae.W_dec.shape }));
    for (const bias of sae.latentBiases()) {
      const b = bias.data() as Float32Array;
      for (const j of latents) b[j] = 0;
      bias.copyFrom(tensor(b, { shape: bias.shape }));
      positions.set(bias, latents);
    }
  });
  resetOptimizerState(optimizer, positions);
  return { resampled: latents };
}
