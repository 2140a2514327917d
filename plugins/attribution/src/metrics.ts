import { type Tensor, ValueError, gather, logSoftmax, mul, noGrad, softmax, squeeze, sub, sum, tensor, unsqueeze } from '@glassbox/tensor';

/**
 * A metric M: logits [batch, pos, d_vocab] → a 0-d tensor, averaged over the prompt pairs of the
 * batch, and differentiable in the logits. Attribution methods differentiate it; patching reads it.
 */
export type AttributionMetric = (logits: Tensor) => Tensor;

export interface AnswerMetricOptions {
  /**
   * int32 token ids: [batch], read at `position`, or [batch, pos] with -1 where a position is not
   * scored (several positions of one prompt are averaged first, then the prompts).
   */
  answers: Tensor;
  /** The competing tokens, of the same shape as `answers`; -1 exactly where `answers` is -1. */
  wrong?: Tensor;
  /** The position [batch] answers are read at; default -1, the last. */
  position?: number;
  /** 'mean' (default) gives one number for the batch; 'none' one per prompt, [batch]. */
  reduction?: 'mean' | 'none';
}

interface Grid {
  ids: Tensor; // int32 [batch, pos], 0 where unscored
  weights: Tensor; // float32 [batch, pos]
  batch: number;
  pos: number;
}

/** Where each answer sits in the logits, and the weight of each position in the (per-prompt) average. */
function answerGrid(op: string, ids: Tensor, batch: number, pos: number, position: number | undefined, perPrompt: boolean): Grid {
  if (ids.dtype !== 'int32' || !((ids.rank === 1 && ids.shape[0] === batch) || (ids.rank === 2 && ids.shape[0] === batch && ids.shape[1] === pos))) {
    throw new ValueError('answers do not match the logits', { op, arg: 'answers', expected: `int32 [${batch}] or [${batch}, ${pos}]`, given: `${ids.dtype} [${ids.shape.join(', ')}]` });
  }
  const source = ids.data();
  const grid = new Int32Array(batch * pos).fill(-1);
  if (ids.rank === 1) {
    const p = (position ?? -1) < 0 ? pos + (position ?? -1) : position!;
    if (p < 0 || p >= pos) throw new ValueError('position out of range', { op, arg: 'position', expected: `in [${-pos}, ${pos - 1}]`, given: String(position) });
    for (let b = 0; b < batch; b++) grid[b * pos + p] = source[b]!;
  } else grid.set(source);
  const weights = new Float32Array(batch * pos);
  let prompts = 0;
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let p = 0; p < pos; p++) if (grid[b * pos + p]! >= 0) count++;
    if (count > 0) prompts++;
    for (let p = 0; p < pos; p++) if (grid[b * pos + p]! >= 0) weights[b * pos + p] = 1 / count;
  }
  if (prompts === 0) throw new ValueError('nothing to score', { op, arg: 'answers', expected: 'at least one answer >= 0', given: 'all -1' });
  if (!perPrompt) for (let i = 0; i < weights.length; i++) weights[i]! /= prompts;
  return { ids: tensor(grid.map((v) => Math.max(v, 0)), { shape: [batch, pos] }), weights: tensor(weights, { shape: [batch, pos] }), batch, pos };
}

function checkLogits(op: string, logits: Tensor): [number, number, number] {
  if (logits.rank !== 3) throw new ValueError('logits must be [batch, pos, d_vocab]', { op, arg: 'logits', expected: 'rank 3', given: `[${logits.shape.join(', ')}]` });
  return logits.shape as [number, number, number];
}

function pick(values: Tensor, ids: Tensor): Tensor {
  return squeeze(gather(values, 2, unsqueeze(ids, -1)), -1); // [batch, pos]
}

function reduce(perPosition: Tensor, grid: Grid, reduction: 'mean' | 'none'): Tensor {
  const weighted = mul(perPosition, grid.weights);
  return reduction === 'none' ? sum(weighted, 1) : sum(weighted);
}

/** Builds a metric from a per-position value over the answer grid(s); grids are built once per shape. */
function answerMetric(op: string, options: AnswerMetricOptions, value: (logits: Tensor, answers: Tensor, wrong: Tensor | null) => Tensor): AttributionMetric {
  const { answers, wrong, position, reduction = 'mean' } = options;
  if (wrong && (wrong.rank !== answers.rank || wrong.shape.some((d, i) => d !== answers.shape[i]))) {
    throw new ValueError('wrong answers must match the answers', { op, arg: 'wrong', expected: `[${answers.shape.join(', ')}]`, given: `[${wrong.shape.join(', ')}]` });
  }
  if (wrong) {
    const a = answers.data();
    const w = wrong.data();
    if (a.some((v, i) => (v < 0) !== (w[i]! < 0))) throw new ValueError('answers and wrong answers are scored at different places', { op, arg: 'wrong', expected: '-1 exactly where answers is -1' });
  }
  const cache = new Map<string, { grid: Grid; wrongIds: Tensor | null }>();
  return (logits) => {
    const [batch, pos] = checkLogits(op, logits);
    const key = `${batch}x${pos}`;
    let entry = cache.get(key);
    if (!entry) {
      const grid = noGrad(() => answerGrid(op, answers, batch, pos, position, reduction === 'none'));
      const wrongIds = wrong ? noGrad(() => answerGrid(op, wrong, batch, pos, position, false).ids) : null;
      entry = { grid, wrongIds };
      cache.set(key, entry);
    }
    return reduce(value(logits, entry.grid.ids, entry.wrongIds), entry.grid, reduction);
  };
}

/** Logit difference: logit(answer) − logit(wrong) (just logit(answer) without `wrong`). */
export function logitDiff(options: AnswerMetricOptions): AttributionMetric {
  return answerMetric('logitDiff', options, (logits, a, w) => (w ? sub(pick(logits, a), pick(logits, w)) : pick(logits, a)));
}

/** Probability difference: p(answer) − p(wrong) (just p(answer) without `wrong`). */
export function probDiff(options: AnswerMetricOptions): AttributionMetric {
  return answerMetric('probDiff', options, (logits, a, w) => {
    const probs = softmax(logits, -1);
    return w ? sub(pick(probs, a), pick(probs, w)) : pick(probs, a);
  });
}

/** Cross-entropy of the answers: −log p(answer). `wrong` is ignored. */
export function answerLoss(options: AnswerMetricOptions): AttributionMetric {
  return answerMetric('answerLoss', { ...options, wrong: undefined }, (logits, a) => pick(logSoftmax(logits, -1), a).neg());
}

export interface KlOptions {
  /** Which positions count: [batch, pos] with nonzero where scored; default `position`. */
  mask?: Tensor;
  /** A single position (default -1, the last) when there is no mask. */
  position?: number;
  reduction?: 'mean' | 'none';
}

/**
 * KL divergence to the clean run, KL(p_clean ‖ p) at the scored positions: 0 for the clean model,
 * and minimal there, so its gradient at the clean run vanishes (attribution at the clean run then
 * needs integrated gradients).
 */
export function klToClean(cleanLogits: Tensor, options: KlOptions = {}): AttributionMetric {
  const op = 'klToClean';
  const [batch, pos] = checkLogits(op, cleanLogits);
  const { reduction = 'mean' } = options;
  const ids = options.mask
    ? tensor(Int32Array.from(options.mask.data(), (v) => (v !== 0 ? 0 : -1)), { shape: [batch, pos] })
    : tensor(new Int32Array(batch), { shape: [batch] });
  const grid = noGrad(() => answerGrid(op, ids, batch, pos, options.position, reduction === 'none'));
  const { pClean, logClean } = noGrad(() => ({ pClean: softmax(cleanLogits.detach(), -1), logClean: logSoftmax(cleanLogits.detach(), -1) }));
  return (logits) => {
    checkLogits(op, logits);
    const kl = sum(mul(pClean, sub(logClean, logSoftmax(logits, -1))), -1); // [batch, pos]
    return reduce(kl, grid, reduction);
  };
}

/** The metrics by name, for the commands: each built from scored prompt pairs and the clean logits. */
export const METRIC_NAMES = ['logit-diff', 'prob-diff', 'kl', 'loss'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export function metricByName(name: MetricName, answers: { answers: Tensor; wrong?: Tensor }, cleanLogits: () => Tensor): AttributionMetric {
  switch (name) {
    case 'logit-diff':
      return logitDiff(answers);
    case 'prob-diff':
      return probDiff(answers);
    case 'loss':
      return answerLoss(answers);
    case 'kl': {
      const mask = tensor(Int32Array.from(answers.answers.data(), (v) => (v >= 0 ? 1 : 0)), { shape: answers.answers.shape });
      return klToClean(cleanLogits(), answers.answers.rank === 2 ? { mask } : {});
    }
  }
}
