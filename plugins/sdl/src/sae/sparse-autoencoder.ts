import {
  Generator,
  Module,
  type Tensor,
  add,
  div,
  matmul,
  mean,
  mul,
  noGrad,
  norm,
  randn,
  reshape,
  sqrt,
  sub,
  sum,
  tensor,
  transpose,
  variance,
  zeros,
} from '@glassbox/tensor';
import type { Dictionary } from '@glassbox/model';
import type { Architecture, DecoderNorm, SaeConfig } from './config.ts';
import { validateSaeConfig } from './config.ts';

/** What one training step needs beyond the batch: the trainer's current coefficients and knobs. */
export interface StepContext {
  /** The sparsity coefficient after warmup: L1 for standard and gated, L0 for jumprelu. */
  sparsityCoefficient: number;
  decoderNorm: DecoderNorm;
  /** Latents that count as dead (nonzero entries) for AuxK; null when none are tracked. // [d_sae] */
  deadMask: Uint8Array | null;
  /** AuxK: how many dead latents reconstruct the residual, and the loss weight. */
  kAux: number;
  auxkCoefficient: number;
  /** JumpReLU: the STE kernel width, the sparsity loss, its tanh scale, and the pre-activation loss weight. */
  jumpReluBandwidth: number;
  jumpReluSparsity: 'step' | 'tanh';
  jumpReluTanhScale: number;
  preActCoefficient: number;
  /** BatchTopK: the rate of the running inference-threshold estimate. */
  thresholdLr: number;
}

export const DEFAULT_STEP_CONTEXT: StepContext = {
  sparsityCoefficient: 0,
  decoderNorm: 'unit',
  deadMask: null,
  kAux: 0,
  auxkCoefficient: 1 / 32,
  jumpReluBandwidth: 0.001,
  jumpReluSparsity: 'step',
  jumpReluTanhScale: 4,
  preActCoefficient: 0,
  thresholdLr: 0.01,
};

export interface StepOutput {
  /** The scalar to minimise. */
  loss: Tensor;
  /** Its named scalar parts (mse, sparsity, auxk, …). */
  terms: Record<string, Tensor>;
  /** How many rows of the batch each latent was active on. // [d_sae] */
  firing: Int32Array;
  /** Mean number of active latents per row. */
  l0: number;
}

export interface SaeInitOptions {
  /** Draws the initial weights; default Generator.fromSeed(0). */
  generator?: Generator;
  /** Decoder rows start with this norm; default 1 with a unit-norm decoder, else 0.1 (Anthropic's April 2024 heuristic). */
  decoderInitNorm?: number;
}

/** Flattens [..., d] to [n, d] and gives back a function that restores the leading axes on [n, d']. */
export function asRows(x: Tensor): { rows: Tensor; restore: (y: Tensor) => Tensor } {
  const lead = x.shape.slice(0, -1);
  const d = x.shape[x.rank - 1]!;
  if (x.rank === 2) return { rows: x, restore: (y) => y };
  return { rows: reshape(x, [-1, d]), restore: (y) => reshape(y, [...lead, y.shape[y.rank - 1]!]) };
}

/** Σ over the batch of ‖a − b‖², divided by the batch size: SAELens's MSE (summed over d, averaged over rows). */
export function squaredErrorPerRow(a: Tensor, b: Tensor): Tensor {
  const diff = sub(a, b);
  return div(sum(mul(diff, diff)), a.shape[0]!);
}

/** Per-latent count of rows where a dense [batch, d_sae] array is positive. */
export function countFiring(latents: Float32Array, batch: number, width: number): Int32Array {
  const counts = new Int32Array(width);
  for (let r = 0; r < batch; r++) {
    const base = r * width;
    for (let j = 0; j < width; j++) if (latents[base + j]! > 0) counts[j]!++;
  }
  return counts;
}

export function meanL0(firing: Int32Array, batch: number): number {
  let total = 0;
  for (const c of firing) total += c;
  return batch > 0 ? total / batch : 0;
}

/**
 * The parts every SAE architecture shares: W_enc [d_in, d_sae], W_dec [d_sae, d_in] and b_dec
 * [d_in], the Dictionary contract over them, SAELens's runtime input normalisations, and a
 * training step that each architecture defines. Parameter names are SAELens's, so the state dict
 * is already in its layout (JumpReLU trains log_threshold and exports threshold).
 */
export abstract class SparseAutoencoder extends Module implements Dictionary {
  readonly config: SaeConfig;
  abstract readonly architecture: Architecture;
  readonly W_enc: Tensor; // [d_in, d_sae]
  readonly W_dec: Tensor; // [d_sae, d_in]
  readonly b_dec: Tensor; // [d_in]
  /** Statistics of the last normalised input, to undo constant_norm_rescale or layer_norm on the way out. */
  #lastNorm: { scale: Tensor; shift: Tensor | null } | null = null;

  protected constructor(config: SaeConfig, options: SaeInitOptions = {}) {
    super();
    validateSaeConfig(config);
    this.config = { ...config, metadata: { ...(config.metadata ?? {}) } };
    const { dIn, dSae } = config;
    const generator = options.generator ?? Generator.fromSeed(0);
    const initNorm = options.decoderInitNorm ?? 0.1;
    // Random directions scaled to the initial norm; the encoder starts as the decoder's transpose.
    const W = randn([dSae, dIn], { generator });
    const rowNorms = norm(W, 2, 1, true);
    const Wdec = mul(div(W, rowNorms), initNorm);
    this.W_enc = this.param('W_enc', tensor(transpose(Wdec).data(), { shape: [dIn, dSae] }));
    this.W_dec = this.param('W_dec', Wdec);
    this.b_dec = this.param('b_dec', zeros([dIn]));
  }

  get dIn(): number {
    return this.config.dIn;
  }
  get dSae(): number {
    return this.config.dSae;
  }
  get dOut(): number {
    return this.config.dIn;
  }
  get hookName(): string {
    return this.config.hookName;
  }
  get outHookName(): string {
    return this.config.outHookName ?? this.config.hookName;
  }

  /** x − b_dec when the config applies b_dec to the input. // [n, d_in] */
  centered(x: Tensor): Tensor {
    return this.config.applyBDecToInput ? sub(x, this.b_dec) : x;
  }

  /** SAELens's runtime input normalisation (constant_norm_rescale, layer_norm); identity otherwise. */
  protected normalizeIn(x: Tensor): Tensor {
    const mode = this.config.normalizeActivations;
    if (mode === 'constant_norm_rescale') {
      const scale = div(Math.sqrt(this.dIn), norm(x, 2, -1, true));
      this.#lastNorm = { scale, shift: null };
      return mul(x, scale);
    }
    if (mode === 'layer_norm') {
      const mu = mean(x, -1, true);
      const centered = sub(x, mu);
      const std = sqrt(variance(centered, -1, { keepDim: true }));
      const scale = div(1, add(std, 1e-5));
      this.#lastNorm = { scale, shift: mu };
      return mul(centered, scale);
    }
    return x;
  }

  protected normalizeOut(y: Tensor): Tensor {
    const last = this.#lastNorm;
    const mode = this.config.normalizeActivations;
    if (!last || (mode !== 'constant_norm_rescale' && mode !== 'layer_norm')) return y;
    const out = div(y, last.scale);
    return last.shift ? add(out, last.shift) : out;
  }

  /** Encoder pre-activations, dense. // [n, d_in] -> [n, d_sae] */
  abstract preActivations(x: Tensor): Tensor;

  /** Latents of rows that are already normalised. // [n, d_in] -> [n, d_sae] */
  protected abstract encodeRows(x: Tensor): Tensor;

  /** Latent activations, as the architecture runs at inference. // [..., d_in] -> [..., d_sae] */
  encode(x: Tensor): Tensor {
    const { rows, restore } = asRows(this.normalizeIn(x));
    return restore(this.encodeRows(rows));
  }

  /** latents @ W_dec + b_dec, undoing a runtime normalisation of the last encode. // [..., d_sae] -> [..., d_in] */
  decode(latents: Tensor): Tensor {
    return this.normalizeOut(add(matmul(latents, this.W_dec), this.b_dec));
  }

  /** decode(encode(x)). // [..., d_in] -> [..., d_in] */
  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }

  /** ‖W_dec[i]‖ per latent, differentiable. // [d_sae] */
  decoderNorms(): Tensor {
    return norm(this.W_dec, 2, 1);
  }

  /** Per-latent vectors that a resampled latent restarts at zero (encoder biases). // each [d_sae] */
  latentBiases(): Tensor[] {
    return [];
  }

  /** The loss of one batch (already normalised rows) and what the trainer tracks. // x: [batch, d_in] */
  abstract trainStep(x: Tensor, ctx: StepContext): StepOutput;

  /** Called by the trainer after each optimizer step, off the tape. */
  afterStep(): void {}

  /** Tensors under SAELens's inference names (threshold instead of log_threshold, and so on). */
  exportTensors(): Record<string, Tensor> {
    return this.stateDict();
  }

  /** Loads tensors under SAELens's inference names; shapes are checked by loadStateDict. */
  importTensors(tensors: Record<string, Tensor>): void {
    this.loadStateDict(tensors);
  }

  /** The architecture name SAELens uses for the exported inference form. */
  exportArchitecture(): string {
    return this.architecture;
  }

  /**
   * Rescales so that raw activations can be fed in when training saw x · scale: W_enc·s, W_dec/s,
   * b_dec/s. Latents, and so biases and thresholds, are unchanged.
   */
  foldActivationScale(scale: number): void {
    noGrad(() => {
      this.W_enc.copyFrom(mul(this.W_enc, scale));
      this.W_dec.copyFrom(div(this.W_dec, scale));
      this.b_dec.copyFrom(div(this.b_dec, scale));
    });
  }
}
