import { describe, expect, test } from 'vitest';
import { modularAdditionData, trainModularAddition } from './modular-addition.ts';

describe('modular addition', () => {
  test('every pair appears once, labelled (a + b) mod p, split by the train fraction', () => {
    const data = modularAdditionData({ p: 7, trainFraction: 0.3, seed: 2 });
    expect(data.trainTokens.shape).toEqual([15, 3]);
    expect(data.testTokens.shape).toEqual([34, 3]);
    const rows = [...(data.trainTokens.toArray() as number[][]), ...(data.testTokens.toArray() as number[][])];
    const labels = [...Array.from(data.trainLabels.data()), ...Array.from(data.testLabels.data())];
    expect(new Set(rows.map(([a, b]) => `${a},${b}`)).size).toBe(49);
    rows.forEach(([a, b, eq], i) => {
      expect(eq).toBe(7);
      expect(labels[i]).toBe((a! + b!) % 7);
    });
    expect(modularAdditionData({ p: 7, trainFraction: 0.3, seed: 2 }).trainTokens.toArray()).toEqual(data.trainTokens.toArray());
    expect(() => modularAdditionData({ p: 7, trainFraction: 1 })).toThrow(/trainFraction/);
  });

  test('reduced form: full-batch training with weight decay fits the train split, and logs test accuracy', async () => {
    const evals: Array<Record<string, number>> = [];
    const { result } = await trainModularAddition({
      p: 11,
      trainFraction: 0.5,
      steps: 150,
      dModel: 32,
      nHeads: 2,
      dMlp: 64,
      lr: 1e-2,
      weightDecay: 1,
      evalEvery: 50,
      onProgress: (p) => {
        if (p.eval) evals.push(p.eval);
      },
    });
    expect(result.completed).toBe(true);
    expect(evals).toHaveLength(3);
    expect(evals.at(-1)!.trainAccuracy).toBe(1);
    expect(evals.at(-1)!.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(evals.at(-1)!.trainLoss).toBeLessThan(evals[0]!.trainLoss! + 1e-6);
  });
});
