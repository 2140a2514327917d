import { Generator } from '@glassbox/tensor';
import { describe, expect, test } from 'vitest';
import { ToySuperposition, featureDimensionality, trainToySuperposition } from './toy-superposition.ts';

describe('featureDimensionality', () => {
  const polygon = (k: number, n: number) => [0, 1].map((axis) => Array.from({ length: n }, (_, i) => (i < k ? (axis === 0 ? Math.cos : Math.sin)((2 * Math.PI * i) / k) : 0)));

  test('orthogonal features have D = 1, antipodal pairs 1/2, a pentagon 2/5, absent features 0', () => {
    expect(featureDimensionality([[1, 0, 0], [0, 2, 0]])).toEqual([1, 1, 0]);
    for (const d of featureDimensionality([[1, -1], [0, 0]])) expect(d).toBeCloseTo(0.5);
    for (const d of featureDimensionality(polygon(5, 5))) expect(d).toBeCloseTo(0.4);
  });

  test('matches the definition on random weights', () => {
    const g = Generator.fromSeed(1);
    const W = [0, 1, 2].map(() => Array.from({ length: 4 }, () => g.normal()));
    const col = (i: number) => W.map((row) => row[i]!);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);
    featureDimensionality(W).forEach((d, i) => {
      const wi = col(i);
      const denominator = [0, 1, 2, 3].reduce((s, j) => s + dot(wi, col(j)) ** 2 / dot(wi, wi), 0);
      expect(d).toBeCloseTo(dot(wi, wi) / denominator, 10);
    });
  });
});

describe('toy model of superposition', () => {
  test('sparse features are U[0, 1) with the asked probability', () => {
    const model = new ToySuperposition({ nFeatures: 5, nHidden: 2, featureProbability: 0.2 }, Generator.fromSeed(0));
    const x = Array.from(model.sample(Generator.fromSeed(1), 4000).data());
    const present = x.filter((v) => v > 0);
    expect(present.length / x.length).toBeCloseTo(0.2, 1);
    expect(Math.max(...present)).toBeLessThan(1);
  });

  test('n = 5, m = 2, importance 0.9^i, feature probability 0.1: a pentagon, every D_i = 0.4 ± 0.05', async () => {
    const { best } = await trainToySuperposition({ nFeatures: 5, nHidden: 2, nInstances: 8, featureProbability: 0.1, batch: 256, steps: 800, lr: 2e-2 });
    for (const d of best.dimensionality) expect(Math.abs(d - 0.4)).toBeLessThan(0.05);
    // All five are represented, with similar norms.
    expect(Math.min(...best.norms)).toBeGreaterThan(0.8);
  });

  test('feature probability 1: exactly two orthogonal features, D = 1, the rest dropped', async () => {
    const { model, best } = await trainToySuperposition({ nFeatures: 5, nHidden: 2, nInstances: 8, featureProbability: 1, batch: 256, steps: 800, lr: 2e-2 });
    const order = best.dimensionality.map((d, i) => [d, i] as const).sort((a, b) => b[0] - a[0]);
    expect(order[0]![0]).toBeGreaterThan(0.9);
    expect(order[1]![0]).toBeGreaterThan(0.9);
    for (const [d] of order.slice(2)) expect(d).toBeLessThan(0.1);
    // The two kept are the most important ones, and orthogonal.
    expect([order[0]![1], order[1]![1]].sort()).toEqual([0, 1]);
    const W = model.instanceWeights(best.instance);
    const cos = (W[0]![0]! * W[0]![1]! + W[1]![0]! * W[1]![1]!) / (best.norms[0]! * best.norms[1]!);
    expect(Math.abs(cos)).toBeLessThan(0.1);
  });
});
