import { Generator, type Tensor, ValueError, indexSelect, tensor } from '@glassbox/tensor';
import type { TransformerConfigInput } from '../config.ts';
import { HookedTransformer } from '../hooked-transformer.ts';
import { type TrainProgress, type TrainResult, Trainer } from '../train/trainer.ts';
import { lastTokenLoss, lastTokenMetrics } from './classification.ts';

/** Token ids of the balanced-parentheses task. */
export const PARENS = { bos: 0, open: 1, close: 2 } as const;

/** Whether a string of '(' and ')' is balanced: no prefix closes more than it opened, and the counts match. */
export function isBalanced(text: string): boolean {
  let depth = 0;
  for (const c of text) {
    depth += c === '(' ? 1 : -1;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** The text of a row of token ids (BOS dropped). */
export function parensText(ids: ArrayLike<number>): string {
  return Array.from(ids)
    .filter((id) => id !== PARENS.bos)
    .map((id) => (id === PARENS.open ? '(' : ')'))
    .join('');
}

export interface BalancedParensData {
  /** int32 [count, length + 1]: BOS then the parentheses. */
  tokens: Tensor;
  /** int32 [count]: 1 if balanced, else 0. */
  labels: Tensor;
}

/**
 * A seeded classification set of parenthesis strings of even `length`: half balanced (uniform over
 * balanced strings), half not. Of the unbalanced ones, half are hard negatives with equal counts of
 * '(' and ')' that go below zero somewhere, so counting alone cannot solve the task; the rest are
 * uniform strings that are not balanced.
 */
export function balancedParensData(options: { length: number; count: number; seed?: number }): BalancedParensData {
  const op = 'balancedParensData';
  const { length, count, seed = 0 } = options;
  if (!Number.isInteger(length) || length < 2 || length % 2 !== 0) throw new ValueError('invalid `length`', { op, arg: 'length', expected: 'an even integer >= 2', given: String(length) });
  if (!Number.isInteger(count) || count < 1) throw new ValueError('invalid `count`', { op, arg: 'count', expected: 'an integer >= 1', given: String(count) });
  const generator = Generator.fromSeed(seed);
  const equalCounts = () => {
    const half = length / 2;
    const order = generator.permutation(length);
    return Array.from(order, (i) => (i < half ? '(' : ')')).join('');
  };
  const uniform = () => Array.from({ length }, () => (generator.uniform() < 0.5 ? '(' : ')')).join('');
  const draw = (accept: (s: string) => boolean, make: () => string) => {
    for (;;) {
      const s = make();
      if (accept(s)) return s;
    }
  };
  const tokens = new Int32Array(count * (length + 1));
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const kind = generator.uniform();
    let text: string;
    if (kind < 0.5) text = draw(isBalanced, equalCounts);
    else if (kind < 0.75) text = draw((s) => !isBalanced(s), equalCounts);
    else text = draw((s) => !isBalanced(s), uniform);
    labels[i] = isBalanced(text) ? 1 : 0;
    tokens[i * (length + 1)] = PARENS.bos;
    for (let j = 0; j < length; j++) tokens[i * (length + 1) + 1 + j] = text[j] === '(' ? PARENS.open : PARENS.close;
  }
  return { tokens: tensor(tokens, { shape: [count, length + 1] }), labels: tensor(labels) };
}

/** A small classifier for the task: read the answer (2 classes) at the last position. */
export function balancedParensConfig(options: { length: number; nLayers?: number; dModel?: number; nHeads?: number; seed?: number }): TransformerConfigInput {
  return {
    nLayers: options.nLayers ?? 2,
    dModel: options.dModel ?? 32,
    nHeads: options.nHeads ?? 2,
    dVocab: 3,
    dVocabOut: 2,
    nCtx: options.length + 1,
    actFn: 'relu',
    seed: options.seed ?? 0,
  };
}

export interface TrainBalancedParensOptions {
  /** Even string length. */
  length: number;
  /** Training examples, drawn once. */
  trainCount: number;
  /** Test examples drawn before removing the strings that also occur in the training set. */
  testCount: number;
  steps: number;
  /** Examples per step, drawn at random from the training set; default all of them. */
  batch?: number;
  nLayers?: number;
  dModel?: number;
  nHeads?: number;
  /** AdamW with cosine decay; default lr 3e-3, weight decay 0.01. */
  lr?: number;
  weightDecay?: number;
  seed?: number;
  onProgress?: (progress: TrainProgress) => void;
}

/**
 * Trains {@link balancedParensConfig} on a fresh data set and measures accuracy on held-out
 * strings: test strings that also occur in the training set are dropped, so the score is not
 * memorisation. `baseline` is the accuracy of always answering the test set's majority class.
 */
export async function trainBalancedParens(options: TrainBalancedParensOptions): Promise<{
  model: HookedTransformer;
  train: BalancedParensData;
  test: BalancedParensData;
  result: TrainResult;
  trainAccuracy: number;
  testAccuracy: number;
  baseline: number;
}> {
  const seed = options.seed ?? 0;
  const train = balancedParensData({ length: options.length, count: options.trainCount, seed });
  const test = heldOut(balancedParensData({ length: options.length, count: options.testCount, seed: seed + 1 }), train);
  const model = new HookedTransformer(balancedParensConfig({ ...options, seed }));
  const n = options.trainCount;
  const batch = Math.min(options.batch ?? n, n);
  const trainer = new Trainer({
    model,
    nextBatch: (generator) => {
      if (batch === n) return train;
      const rows = tensor(Int32Array.from(generator.permutation(n).subarray(0, batch)));
      return { tokens: indexSelect(train.tokens, 0, rows), labels: indexSelect(train.labels, 0, rows) };
    },
    loss: (m, b: BalancedParensData) => lastTokenLoss(m, b.tokens, b.labels),
    steps: options.steps,
    seed,
    lr: options.lr ?? 3e-3,
    weightDecay: options.weightDecay ?? 0.01,
    warmupSteps: Math.min(10, options.steps),
    tokensPerBatch: (b) => b.tokens.size,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const result = await trainer.run();
  const positive = test.labels.cast('float32').mean().item();
  return {
    model,
    train,
    test,
    result,
    trainAccuracy: lastTokenMetrics(model, train.tokens, train.labels).accuracy,
    testAccuracy: lastTokenMetrics(model, test.tokens, test.labels).accuracy,
    baseline: Math.max(positive, 1 - positive),
  };
}

/** The rows of `data` whose string does not occur in `seen`. */
function heldOut(data: BalancedParensData, seen: BalancedParensData): BalancedParensData {
  const width = data.tokens.shape[1]!;
  const key = (ids: Int32Array, row: number) => ids.subarray(row * width, (row + 1) * width).join(',');
  const seenIds = seen.tokens.data() as Int32Array;
  const known = new Set(Array.from({ length: seen.tokens.shape[0]! }, (_, row) => key(seenIds, row)));
  const ids = data.tokens.data() as Int32Array;
  const keep = Array.from({ length: data.tokens.shape[0]! }, (_, row) => row).filter((row) => !known.has(key(ids, row)));
  const rows = tensor(Int32Array.from(keep));
  return { tokens: indexSelect(data.tokens, 0, rows), labels: indexSelect(data.labels, 0, rows) };
}
