import { Generator, type Tensor, ValueError, matmul, noGrad, reshape, indexSelect, tensor } from '@glassbox/tensor';
import type { Dictionary } from '@glassbox/model';

export interface ActivatingExample<C> {
  activation: number;
  context: C;
}

export interface LatentExamples<C> {
  latent: number;
  /** The strongest activations seen, strongest first. */
  top: ActivatingExample<C>[];
  /** Tokens the latent fired on. */
  count: number;
  /** Quantiles of its nonzero activations, from a seeded reservoir sample. */
  quantiles: { q: number; value: number }[];
}

export interface TopExamplesOptions {
  /** Examples kept per latent; default 10. */
  topN?: number;
  /** Only these latents; default all. */
  latents?: readonly number[];
  /** Reservoir size per latent for the quantiles; default 256. */
  reservoirSize?: number;
  /** Default [0.5, 0.9, 0.99]. */
  quantiles?: readonly number[];
  seed?: number;
}

interface Slot<C> {
  values: number[];
  contexts: C[];
  count: number;
  reservoir: number[];
}

/**
 * Collects, per latent, the top-activating examples and a sample of its activations. Contexts are
 * whatever identifies a row to the caller (a token window, a document id): they are kept only
 * for the examples that make a top list. A min-heap of size topN per latent keeps each row at
 * O(active latents · log topN).
 */
export class TopExamplesCollector<C> {
  readonly #width: number;
  readonly #topN: number;
  readonly #reservoirSize: number;
  readonly #quantiles: readonly number[];
  readonly #slots = new Map<number, Slot<C>>();
  readonly #tracked: Uint8Array | null;
  readonly #generator: Generator;

  constructor(dSae: number, options: TopExamplesOptions = {}) {
    this.#width = dSae;
    this.#topN = options.topN ?? 10;
    this.#reservoirSize = options.reservoirSize ?? 256;
    this.#quantiles = options.quantiles ?? [0.5, 0.9, 0.99];
    this.#generator = Generator.fromSeed(options.seed ?? 0);
    this.#tracked = options.latents ? new Uint8Array(dSae) : null;
    for (const j of options.latents ?? []) {
      if (!Number.isInteger(j) || j < 0 || j >= dSae) throw new ValueError('latent out of range', { op: 'TopExamplesCollector', arg: 'latents', expected: `integers in [0, ${dSae - 1}]`, given: String(j) });
      this.#tracked![j] = 1;
    }
  }

  #slot(j: number): Slot<C> {
    let s = this.#slots.get(j);
    if (!s) {
      s = { values: [], contexts: [], count: 0, reservoir: [] };
      this.#slots.set(j, s);
    }
    return s;
  }

  /** Adds rows: latents [n, d_sae] (a tensor or flat array) and one context per row. */
  add(latents: Tensor | Float32Array, contexts: readonly C[]): void {
    const data = latents instanceof Float32Array ? latents : (latents.data() as Float32Array);
    const m = this.#width;
    const n = data.length / m;
    if (contexts.length !== n) {
      throw new ValueError('one context per row is needed', { op: 'TopExamplesCollector.add', arg: 'contexts', expected: `${n} contexts`, given: `${contexts.length}` });
    }
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < m; j++) {
        const v = data[r * m + j]!;
        if (v <= 0 || (this.#tracked && !this.#tracked[j])) continue;
        const s = this.#slot(j);
        s.count++;
        if (s.reservoir.length < this.#reservoirSize) s.reservoir.push(v);
        else {
          const k = this.#generator.randint(0, s.count);
          if (k < this.#reservoirSize) s.reservoir[k] = v;
        }
        this.#push(s, v, contexts[r]!);
      }
    }
  }

  /** Min-heap insert keyed by activation, capped at topN. */
  #push(s: Slot<C>, v: number, context: C): void {
    const { values, contexts } = s;
    const swap = (a: number, b: number) => {
      [values[a], values[b]] = [values[b]!, values[a]!];
      [contexts[a], contexts[b]] = [contexts[b]!, contexts[a]!];
    };
    if (values.length < this.#topN) {
      values.push(v);
      contexts.push(context);
      for (let i = values.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (values[p]! <= values[i]!) break;
        swap(i, p);
        i = p;
      }
      return;
    }
    if (this.#topN === 0 || v <= values[0]!) return;
    values[0] = v;
    contexts[0] = context;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < values.length && values[l]! < values[smallest]!) smallest = l;
      if (r < values.length && values[r]! < values[smallest]!) smallest = r;
      if (smallest === i) break;
      swap(i, smallest);
      i = smallest;
    }
  }

  /** Per latent that fired (or every tracked latent), strongest examples first. */
  result(): LatentExamples<C>[] {
    const latents = this.#tracked ? [...this.#tracked.keys()].filter((j) => this.#tracked![j]) : [...this.#slots.keys()].sort((a, b) => a - b);
    return latents.map((latent) => {
      const s = this.#slots.get(latent) ?? { values: [], contexts: [], count: 0, reservoir: [] };
      const order = s.values.map((_, i) => i).sort((a, b) => s.values[b]! - s.values[a]!);
      const sorted = [...s.reservoir].sort((a, b) => a - b);
      return {
        latent,
        top: order.map((i) => ({ activation: s.values[i]!, context: s.contexts[i]! })),
        count: s.count,
        quantiles: this.#quantiles.map((q) => ({ q, value: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0 })),
      };
    });
  }
}

/** Runs a dictionary over (activations [..., d_in], one context per row) batches and collects its top examples. */
export async function topActivatingExamples<C>(
  dictionary: Dictionary,
  batches: Iterable<{ activations: Tensor; contexts: readonly C[] }> | AsyncIterable<{ activations: Tensor; contexts: readonly C[] }>,
  options: TopExamplesOptions = {},
): Promise<LatentExamples<C>[]> {
  const collector = new TopExamplesCollector<C>(dictionary.dSae, options);
  for await (const { activations, contexts } of batches) {
    noGrad(() => collector.add(dictionary.encode(reshape(activations, [-1, dictionary.dIn])), contexts));
  }
  return collector.result();
}

export interface LogitEffect {
  token: number;
  value: number;
}

/**
 * Each latent's direct effect on the logits, W_dec[latent] · W_U, and its strongest positive and
 * negative tokens (the final LayerNorm is ignored, as is usual). W_dec [d_sae, d_model],
 * W_U [d_model, d_vocab].
 */
export function latentLogitEffects(W_dec: Tensor, W_U: Tensor, options: { latents?: readonly number[]; topN?: number } = {}): { latent: number; positive: LogitEffect[]; negative: LogitEffect[] }[] {
  const latents = options.latents ?? Array.from({ length: W_dec.shape[0]! }, (_, i) => i);
  const topN = options.topN ?? 10;
  const vocab = W_U.shape[1]!;
  const effects = noGrad(() => matmul(indexSelect(W_dec, 0, tensor(Int32Array.from(latents), { shape: [latents.length] })), W_U)).data();
  return latents.map((latent, i) => {
    const row = Array.from(effects.subarray(i * vocab, (i + 1) * vocab), (value, token) => ({ token, value }));
    row.sort((a, b) => b.value - a.value || a.token - b.token);
    return { latent, positive: row.slice(0, topN), negative: row.slice(-topN).reverse() };
  });
}
