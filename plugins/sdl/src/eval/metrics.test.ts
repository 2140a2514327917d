import { type Tensor, matmul, tensor } from '@glassbox/tensor';
import { describe, expect, it } from 'vitest';
import type { Dictionary } from '@glassbox/model';
import { MetricsAccumulator, evaluateDictionary } from './metrics.ts';
import { TopExamplesCollector, latentLogitEffects, topActivatingExamples } from './top-examples.ts';

/** A 2-d dictionary whose latents are the clipped coordinates and whose decoder halves them. */
const halving: Dictionary = {
  dIn: 2,
  dSae: 3,
  dOut: 2,
  hookName: 'h',
  outHookName: 'h',
  encode: (x: Tensor) => matmul(x, tensor([[1, 0, 0], [0, 1, 0]])).relu(),
  decode: (f: Tensor) => matmul(f, tensor([[0.5, 0], [0, 0.5], [0, 0]])),
};

describe('reconstruction metrics', () => {
  it('match hand-computed values', async () => {
    const x = tensor([[2, 0], [0, 4], [2, 4], [-2, 0]]);
    const m = await evaluateDictionary(halving, [x]);
    // Latents [2,0,0], [0,4,0], [2,4,0], [0,0,0]; reconstructions x/2 except the last (0).
    expect(m.tokens).toBe(4);
    expect(m.l0).toBeCloseTo(4 / 4);
    expect(m.l1).toBeCloseTo(12 / 4);
    const sse = 1 + 4 + 5 + 4;
    expect(m.mse).toBeCloseTo(sse / 8);
    // Mean (0.5, 2); Σ‖x − mean‖² = 6.25 + 4.25 + 6.25 + 10.25 = 27.
    expect(m.fvu).toBeCloseTo(sse / 27);
    expect(m.explainedVariance).toBeCloseTo(1 - sse / 27);
    expect(m.cosineSimilarity).toBeCloseTo(3 / 4);
    expect(m.l2Ratio).toBeCloseTo(1.5 / 4);
    // γ = E‖x̂‖² / E[x·x̂] = (1 + 4 + 5) / (2 + 8 + 10) = 0.5: a uniform halving.
    expect(m.relativeReconstructionBias).toBeCloseTo(0.5);
    expect(Array.from(m.featureDensity)).toEqual([0.5, 0.5, 0]);
    expect(m.deadFraction).toBeCloseTo(1 / 3);
    expect(m.denseFraction).toBeCloseTo(2 / 3);
    expect(m.densityHistogram.dead).toBe(1);
    expect(m.densityHistogram.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('accumulating over batches equals one batch', async () => {
    const x = tensor([[2, 0], [0, 4], [2, 4], [-2, 0]]);
    const whole = await evaluateDictionary(halving, [x]);
    const parts = await evaluateDictionary(halving, [x.reshape([2, 2, 2])]);
    expect(parts.fvu).toBeCloseTo(whole.fvu, 10);
    expect(() => new MetricsAccumulator(2, 3).add(new Float32Array(4), new Float32Array(5), new Float32Array(4))).toThrow(/batch sizes disagree/);
  });
});

describe('per-latent examples', () => {
  it('keeps the strongest examples with their contexts, and quantiles', async () => {
    const collector = new TopExamplesCollector<string>(2, { topN: 2 });
    collector.add(Float32Array.from([1, 0, 5, 2, 3, 0, 4, 1]), ['a', 'b', 'c', 'd']);
    const [first, second] = collector.result();
    expect(first!.top).toEqual([
      { activation: 5, context: 'b' },
      { activation: 4, context: 'd' },
    ]);
    expect(first!.count).toBe(4);
    expect(first!.quantiles[0]).toEqual({ q: 0.5, value: 4 });
    expect(second!.top.map((e) => e.context)).toEqual(['b', 'd']);
    const viaDictionary = await topActivatingExamples(halving, [{ activations: tensor([[1, 3], [2, 1]]), contexts: [10, 20] }], { latents: [1, 2] });
    expect(viaDictionary.map((l) => l.top.map((e) => e.context))).toEqual([[10, 20], []]);
  });

  it('ranks tokens by the direct logit effect of each latent', () => {
    const effects = latentLogitEffects(tensor([[1, 0], [0, 1]]), tensor([[3, -1, 0], [0, 2, -5]]), { topN: 1 });
    expect(effects[0]!.positive).toEqual([{ token: 0, value: 3 }]);
    expect(effects[0]!.negative).toEqual([{ token: 1, value: -1 }]);
    expect(effects[1]!.negative).toEqual([{ token: 2, value: -5 }]);
  });
});
