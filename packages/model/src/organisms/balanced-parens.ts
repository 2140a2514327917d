import { Generator, type Tensor, ValueError, tensor } from '@glassbox/tensor';
import type { TransformerConfigInput } from '../config.ts';

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
