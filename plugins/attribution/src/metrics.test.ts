import { noGrad, tensor } from '@glassbox/tensor';
import { describe, expect, test } from 'vitest';
import { answerLoss, klToClean, logitDiff, probDiff } from './metrics.ts';

// logits [batch 2, pos 2, vocab 3]
const rows = [
  [
    [1, 2, 3],
    [0, 1, -1],
  ],
  [
    [2, 0, 0],
    [3, 1, 2],
  ],
];
const logits = tensor(rows);
const softmax = (r: number[]) => {
  const e = r.map(Math.exp);
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
};

describe('metrics', () => {
  test('logit difference at the last position, averaged over prompt pairs', () => {
    const m = logitDiff({ answers: tensor([1, 0], { dtype: 'int32' }), wrong: tensor([2, 2], { dtype: 'int32' }) });
    expect(m(logits).item()).toBeCloseTo((1 - -1 + (3 - 2)) / 2, 6);
    const perPrompt = logitDiff({ answers: tensor([1, 0], { dtype: 'int32' }), wrong: tensor([2, 2], { dtype: 'int32' }), reduction: 'none' });
    expect(Array.from(perPrompt(logits).data())).toEqual([2, 1]);
    expect(logitDiff({ answers: tensor([2, 0], { dtype: 'int32' }), position: 0 })(logits).item()).toBeCloseTo(2.5, 6);
  });

  test('answers per position (-1 unscored) average within a prompt, then over prompts', () => {
    const answers = tensor(
      [
        [2, 0],
        [-1, 1],
      ],
      { dtype: 'int32' },
    );
    const wrong = tensor(
      [
        [0, 1],
        [-1, 0],
      ],
      { dtype: 'int32' },
    );
    expect(logitDiff({ answers, wrong })(logits).item()).toBeCloseTo(((3 - 1 + (0 - 1)) / 2 + (1 - 3)) / 2, 6);
    expect(() => logitDiff({ answers, wrong: tensor([[0, 1], [2, 0]], { dtype: 'int32' }) })).toThrow(/different places/);
  });

  test('probability difference and loss', () => {
    const answers = tensor([1, 0], { dtype: 'int32' });
    const wrong = tensor([2, 2], { dtype: 'int32' });
    const p0 = softmax(rows[0]![1]!);
    const p1 = softmax(rows[1]![1]!);
    expect(probDiff({ answers, wrong })(logits).item()).toBeCloseTo((p0[1]! - p0[2]! + p1[0]! - p1[2]!) / 2, 6);
    expect(answerLoss({ answers })(logits).item()).toBeCloseTo(-(Math.log(p0[1]!) + Math.log(p1[0]!)) / 2, 5);
  });

  test('KL to the clean run is 0 at the clean logits and KL(p_clean‖p) elsewhere', () => {
    const kl = klToClean(logits);
    expect(kl(logits).item()).toBeCloseTo(0, 6);
    const otherRows = rows.map((b) => b.map((r) => r.map((v, i) => v * (i === 0 ? 2 : 1))));
    const other = tensor(otherRows);
    const klAt = (b: number) => {
      const p = softmax(rows[b]![1]!);
      const q = softmax(otherRows[b]![1]!);
      return p.reduce((acc, pi, i) => acc + pi * Math.log(pi / q[i]!), 0);
    };
    const manual = (klAt(0) + klAt(1)) / 2;
    expect(noGrad(() => kl(other).item())).toBeCloseTo(manual, 5);
    const masked = klToClean(logits, { mask: tensor([[1, 1], [0, 1]], { dtype: 'int32' }) });
    expect(masked(logits).item()).toBeCloseTo(0, 6);
  });

  test('logits that do not match the answers are an error', () => {
    expect(() => logitDiff({ answers: tensor([1, 0, 1], { dtype: 'int32' }) })(logits)).toThrow(/answers do not match/);
  });
});
