import { Generator, type Tensor, ValueError, narrow, noGrad, tensor } from '@glassbox/tensor';
import { type NormalizationType, type PositionalEmbeddingType, type TransformerConfigInput, configToJSON } from '../config.ts';
import { HookedTransformer } from '../hooked-transformer.ts';
import { lmLoss } from '../loss.ts';
import { type TrainProgress, type TrainResult, Trainer } from '../train/trainer.ts';

/** The id of the beginning-of-sequence token in the induction organism's vocabulary. */
export const BOS = 0;

/**
 * A synthetic language for growing induction heads: a random bigram model (each token prefers a
 * few successors) mixed with repeated segments of uniformly random tokens. A repeated segment is
 * predictable only by looking back at its first occurrence, which is what an induction head does;
 * the bigram statistics give the model something to learn first (the plateau before the phase change).
 */
export interface InductionLanguageOptions {
  /** Vocabulary size, including BOS (id 0). */
  dVocab: number;
  /** Tokens per sequence, including the leading BOS. */
  seqLen: number;
  /** Seeds the bigram table. */
  seed?: number;
  /** Fraction of sequences that contain a repeated segment; default 0.9. */
  repeatFraction?: number;
  /** Length range of the repeated segment; default [4, (seqLen − 1) / 2]. */
  minSegment?: number;
  maxSegment?: number;
  /** Most bigram tokens before the first copy of the segment; default no limit. */
  maxPrefix?: number;
  /** Most bigram tokens between the two copies; default no limit. */
  maxGap?: number;
  /** How many preferred successors each token has in the bigram model; default 3. */
  successors?: number;
  /** The probability mass spread uniformly over all tokens; default 0.2. */
  smoothing?: number;
}

export class InductionLanguage {
  readonly dVocab: number;
  readonly seqLen: number;
  readonly repeatFraction: number;
  readonly minSegment: number;
  readonly maxSegment: number;
  readonly maxPrefix: number;
  readonly maxGap: number;
  /** Cumulative bigram probabilities over ids 1 .. dVocab − 1, row per previous token: [dVocab, dVocab − 1]. */
  readonly #cumulative: Float64Array;

  constructor(options: InductionLanguageOptions) {
    const op = 'InductionLanguage';
    const { dVocab, seqLen, seed = 0, repeatFraction = 0.9, successors = 3, smoothing = 0.2 } = options;
    const check = (arg: string, ok: boolean, expected: string, given: unknown) => {
      if (!ok) throw new ValueError(`invalid \`${arg}\``, { op, arg, expected, given: String(given) });
    };
    check('dVocab', Number.isInteger(dVocab) && dVocab >= 3, 'an integer >= 3', dVocab);
    check('seqLen', Number.isInteger(seqLen) && seqLen >= 5, 'an integer >= 5', seqLen);
    const longest = Math.floor((seqLen - 1) / 2);
    const { minSegment = Math.min(4, longest), maxSegment = longest } = options;
    check('minSegment', Number.isInteger(minSegment) && minSegment >= 1 && minSegment <= maxSegment, `an integer in [1, maxSegment = ${maxSegment}]`, minSegment);
    check('maxSegment', Number.isInteger(maxSegment) && maxSegment <= longest, `an integer <= (seqLen - 1) / 2 = ${longest}`, maxSegment);
    check('repeatFraction', repeatFraction >= 0 && repeatFraction <= 1, 'a number in [0, 1]', repeatFraction);
    check('smoothing', smoothing > 0 && smoothing <= 1, 'a number in (0, 1]', smoothing);
    check('successors', Number.isInteger(successors) && successors >= 1, 'a positive integer', successors);
    this.dVocab = dVocab;
    this.seqLen = seqLen;
    this.repeatFraction = repeatFraction;
    this.minSegment = minSegment;
    this.maxSegment = maxSegment;
    this.maxPrefix = options.maxPrefix ?? seqLen;
    this.maxGap = options.maxGap ?? seqLen;
    check('maxPrefix', Number.isInteger(this.maxPrefix) && this.maxPrefix >= 0, 'an integer >= 0', this.maxPrefix);
    check('maxGap', Number.isInteger(this.maxGap) && this.maxGap >= 0, 'an integer >= 0', this.maxGap);
    const n = dVocab - 1;
    const generator = Generator.fromSeed(seed);
    this.#cumulative = new Float64Array(dVocab * n);
    for (let prev = 0; prev < dVocab; prev++) {
      const row = new Float64Array(n).fill(smoothing / n);
      // Preferred successors get the rest of the mass, with random (exponential) shares.
      const shares = Array.from({ length: successors }, () => -Math.log(1 - generator.uniform()));
      const total = shares.reduce((a, b) => a + b, 0);
      shares.forEach((s) => {
        row[generator.randint(0, n)]! += ((1 - smoothing) * s) / total;
      });
      let acc = 0;
      for (let j = 0; j < n; j++) this.#cumulative[prev * n + j] = acc += row[j]!;
    }
  }

  /** Bigram probability of `next` after `prev` (both ids; BOS never follows). */
  bigramProbability(prev: number, next: number): number {
    if (next === BOS) return 0;
    const n = this.dVocab - 1;
    const j = next - 1;
    return this.#cumulative[prev * n + j]! - (j === 0 ? 0 : this.#cumulative[prev * n + j - 1]!);
  }

  #nextBigram(prev: number, generator: Generator): number {
    const n = this.dVocab - 1;
    const u = generator.uniform() * this.#cumulative[prev * n + n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cumulative[prev * n + mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  }

  /**
   * One sequence: BOS, then bigram text into which (with probability repeatFraction) a segment of
   * uniformly random tokens is written twice, after a bigram prefix and with a bigram gap between
   * the copies. The segment's length and place vary, so only an induction head can predict the
   * second copy from the first (a head attending at a fixed offset cannot).
   */
  sequence(generator: Generator): Int32Array {
    const out = new Int32Array(this.seqLen);
    out[0] = BOS;
    const body = this.seqLen - 1;
    let segment: Int32Array | null = null;
    let first = -1;
    let second = -1;
    if (generator.uniform() < this.repeatFraction) {
      const length = generator.randint(this.minSegment, this.maxSegment + 1);
      segment = new Int32Array(length);
      for (let i = 0; i < length; i++) segment[i] = generator.randint(1, this.dVocab);
      const slack = body - 2 * length;
      const before = generator.randint(0, Math.min(this.maxPrefix, slack) + 1);
      const gap = generator.randint(0, Math.min(this.maxGap, slack - before) + 1);
      first = 1 + before;
      second = first + length + gap;
    }
    for (let p = 1; p < this.seqLen; p++) {
      if (segment && p >= first && p < first + segment.length) out[p] = segment[p - first]!;
      else if (segment && p >= second && p < second + segment.length) out[p] = segment[p - second]!;
      else out[p] = this.#nextBigram(out[p - 1]!, generator);
    }
    return out;
  }

  /** int32 [batch, seqLen] */
  batch(generator: Generator, batch: number): Tensor {
    const data = new Int32Array(batch * this.seqLen);
    for (let b = 0; b < batch; b++) data.set(this.sequence(generator), b * this.seqLen);
    return tensor(data, { shape: [batch, this.seqLen] });
  }
}

/**
 * The repeated-random-tokens evaluation set: BOS, then r, then r again, with r uniform over the
 * non-BOS ids. int32 [batch, 1 + 2 · halfLen].
 */
export function repeatedRandomTokens(generator: Generator, options: { batch: number; halfLen: number; dVocab: number }): Tensor {
  const { batch, halfLen, dVocab } = options;
  const seqLen = 1 + 2 * halfLen;
  const data = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    data[b * seqLen] = BOS;
    for (let i = 0; i < halfLen; i++) {
      const token = generator.randint(1, dVocab);
      data[b * seqLen + 1 + i] = token;
      data[b * seqLen + 1 + halfLen + i] = token;
    }
  }
  return tensor(data, { shape: [batch, seqLen] });
}

export interface InductionReport {
  /** [layer][head]: mean attention from each second-half token to the token after its first occurrence. */
  inductionScores: number[][];
  /** [layer][head]: mean attention from each token to the one before it. */
  prevTokenScores: number[][];
  /** Mean loss predicting the first copy of r (an induction head cannot help): near ln(dVocab − 1). */
  firstHalfLoss: number;
  /**
   * Mean loss predicting the second copy of r, except its first token (which follows the end of the
   * first copy, and so cannot be predicted).
   */
  secondHalfLoss: number;
  /** The best layer-1 (or last-layer) induction score and its head. */
  bestInductionHead: { layer: number; head: number; score: number };
}

/**
 * Induction metrics of a model on repeated random tokens from `repeatedRandomTokens` (halfLen is
 * read from the shape). The induction score is TransformerLens/ARENA's: the mean of each head's
 * attention pattern along the diagonal at offset −(halfLen − 1), over the second copy.
 */
export function inductionReport(model: HookedTransformer, tokens: Tensor): InductionReport {
  const [batch, seqLen] = tokens.shape as [number, number];
  const halfLen = (seqLen - 1) / 2;
  return noGrad(() => {
    const { logits, cache } = model.runWithCache(tokens, { namesFilter: (name) => name.endsWith('hook_pattern') });
    const { nLayers, nHeads } = model.cfg;
    const inductionScores: number[][] = [];
    const prevTokenScores: number[][] = [];
    for (let l = 0; l < nLayers; l++) {
      const pattern = cache.act('pattern', l).data(); // [batch, head, q, k]
      const ind: number[] = [];
      const prev: number[] = [];
      for (let h = 0; h < nHeads; h++) {
        let sumInd = 0;
        let sumPrev = 0;
        for (let b = 0; b < batch; b++) {
          const base = (b * nHeads + h) * seqLen * seqLen;
          for (let q = halfLen + 1; q < seqLen; q++) sumInd += pattern[base + q * seqLen + q - halfLen + 1]!;
          for (let q = 1; q < seqLen; q++) sumPrev += pattern[base + q * seqLen + q - 1]!;
        }
        ind.push(sumInd / (batch * halfLen));
        prev.push(sumPrev / (batch * (seqLen - 1)));
      }
      inductionScores.push(ind);
      prevTokenScores.push(prev);
    }
    // Per-token loss [batch, seqLen − 1]: entry p is the loss of predicting token p + 1.
    const perToken = lmLoss(logits, tokens, { perToken: true });
    const firstHalfLoss = narrow(perToken, 1, 0, halfLen).mean().item();
    const secondHalfLoss = narrow(perToken, 1, halfLen + 1, halfLen - 1).mean().item();
    const layer = Math.min(1, nLayers - 1);
    const scores = inductionScores[layer] ?? [];
    const head = scores.indexOf(Math.max(...scores));
    return { inductionScores, prevTokenScores, firstHalfLoss, secondHalfLoss, bestInductionHead: { layer, head, score: scores[head] ?? 0 } };
  });
}

export interface InductionOrganismOptions {
  dModel: number;
  nHeads: number;
  /** Context length: training sequences use all of it; the evaluation set uses 1 + 2 · floor((nCtx − 1) / 2). */
  nCtx: number;
  dVocab: number;
  /**
   * Rotary positions (on half of each head's features) and no normalisation by default: relative
   * positions make the previous-token head easy to learn, and the unrotated half lets a head match
   * tokens regardless of their distance, which shortens the plateau before the induction head forms.
   */
  positionalEmbeddingType?: PositionalEmbeddingType;
  rotaryDim?: number;
  normalizationType?: NormalizationType | null;
  seed?: number;
}

/** The organism's model: a 2-layer attention-only transformer. */
export function inductionModelConfig(options: InductionOrganismOptions): TransformerConfigInput {
  const positional = options.positionalEmbeddingType ?? 'rotary';
  const dHead = Math.floor(options.dModel / options.nHeads);
  return {
    nLayers: 2,
    dModel: options.dModel,
    nHeads: options.nHeads,
    dVocab: options.dVocab,
    nCtx: options.nCtx,
    attnOnly: true,
    normalizationType: options.normalizationType === undefined ? null : options.normalizationType,
    positionalEmbeddingType: positional,
    ...(positional === 'rotary' ? { rotaryDim: options.rotaryDim ?? Math.max(2, 2 * Math.floor(dHead / 4)) } : {}),
    seed: options.seed ?? 0,
  };
}

export interface TrainInductionOptions extends InductionOrganismOptions {
  batch: number;
  steps: number;
  /** AdamW learning rate; default 1e-2, with 5% warmup and cosine decay to 10%. */
  lr?: number;
  /** Language options beyond the sizes; by default each sequence is BOS, a random segment of 4 to (nCtx − 1) / 2 tokens, the segment again, then bigram text. */
  language?: Partial<Omit<InductionLanguageOptions, 'dVocab' | 'seqLen'>>;
  /** Evaluate on repeated random tokens every this many steps; default steps / 10. */
  evalEvery?: number;
  evalBatch?: number;
  runDir?: string;
  onProgress?: (progress: TrainProgress) => void;
  signal?: AbortSignal;
  /** Continue from the latest checkpoint in runDir. */
  resume?: boolean;
}

/**
 * Trains the induction organism from scratch and reports its induction metrics. Evaluations
 * (the best layer-1 induction score and both half losses on repeated random tokens) go to the
 * progress callback and to metrics.jsonl when a run directory is given.
 */
export async function trainInduction(options: TrainInductionOptions): Promise<{ model: HookedTransformer; report: InductionReport; result: TrainResult }> {
  const seed = options.seed ?? 0;
  const model = new HookedTransformer(inductionModelConfig(options));
  const halfLen = Math.floor((options.nCtx - 1) / 2);
  const language = new InductionLanguage({ maxPrefix: 0, maxGap: 0, seed: seed + 1, ...options.language, dVocab: options.dVocab, seqLen: options.nCtx });
  const evalTokens = repeatedRandomTokens(Generator.fromSeed(seed + 2), { batch: options.evalBatch ?? 32, halfLen, dVocab: options.dVocab });
  const trainer = new Trainer({
    model,
    nextBatch: (generator) => language.batch(generator, options.batch),
    loss: (m, batch: Tensor) => m.loss(batch),
    steps: options.steps,
    seed: seed + 3,
    lr: options.lr ?? 1e-2,
    betas: [0.9, 0.99],
    warmupSteps: Math.ceil(options.steps / 20),
    minLrRatio: 0.1,
    evalEvery: options.evalEvery ?? Math.max(1, Math.floor(options.steps / 10)),
    evaluate: (m) => {
      const r = inductionReport(m, evalTokens);
      return { inductionScore: r.bestInductionHead.score, firstHalfLoss: r.firstHalfLoss, secondHalfLoss: r.secondHalfLoss };
    },
    config: { model: configToJSON(model.cfg), language: { ...options.language, dVocab: options.dVocab, seqLen: options.nCtx }, batch: options.batch },
    ...(options.runDir ? { runDir: options.runDir } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const result = await trainer.run({ resume: options.resume ?? false });
  return { model, report: inductionReport(model, evalTokens), result };
}
