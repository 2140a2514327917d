import { describe, expect, it } from 'vitest';
import { saeConfig } from '../sae/config.ts';
import { trainSaes } from '../train/trainer.ts';
import { normalQuantile } from './normal-quantile.ts';
import { SparseFeatureData, mmcs } from './sparse-features.ts';

describe('Sharkey et al. synthetic data', () => {
  it('normalQuantile inverts the normal CDF', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 9);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 9);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 7);
  });

  it('has unit directions, decaying probabilities summing to the mean active count, and that many active', () => {
    const data = new SparseFeatureData({ dIn: 32, numFeatures: 64, meanActive: 5, seed: 2 });
    expect(Math.hypot(...data.features.subarray(0, 32))).toBeCloseTo(1, 5);
    expect(data.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(5, 10);
    expect(data.probabilities[10]! / data.probabilities[0]!).toBeCloseTo(0.99 ** 10, 10);
    const { coefficients } = data.sample(4000);
    let active = 0;
    let first = 0;
    coefficients.forEach((c, i) => {
      if (c > 0) {
        active++;
        if (i % 64 === 0) first++;
      }
    });
    expect(active / 4000).toBeGreaterThan(4.7);
    expect(active / 4000).toBeLessThan(5.3);
    // The copula keeps each feature's marginal firing rate.
    expect(first / 4000).toBeGreaterThan(data.probabilities[0]! - 0.02);
    expect(first / 4000).toBeLessThan(data.probabilities[0]! + 0.02);
  });

  it('correlates features in the correlated variant only', () => {
    const coFiring = (correlated: boolean) => {
      const data = new SparseFeatureData({ dIn: 8, numFeatures: 6, meanActive: 2, correlated, correlationStrength: 0.9, seed: 3 });
      const n = 4000;
      const { coefficients } = data.sample(n);
      const fired = (r: number, i: number) => (coefficients[r * 6 + i]! > 0 ? 1 : 0);
      // Mean absolute correlation of the firing indicators over feature pairs.
      let total = 0;
      let pairs = 0;
      for (let i = 0; i < 6; i++) {
        for (let j = i + 1; j < 6; j++) {
          let [si, sj, sij] = [0, 0, 0];
          for (let r = 0; r < n; r++) {
            si += fired(r, i);
            sj += fired(r, j);
            sij += fired(r, i) * fired(r, j);
          }
          const [pi, pj] = [si / n, sj / n];
          total += Math.abs((sij / n - pi * pj) / Math.sqrt(pi * (1 - pi) * pj * (1 - pj)));
          pairs++;
        }
      }
      return total / pairs;
    };
    expect(coFiring(true)).toBeGreaterThan(0.1);
    expect(coFiring(false)).toBeLessThan(0.05);
  });

  it('MMCS is 1 against the truth and low against noise', () => {
    const data = new SparseFeatureData({ dIn: 16, numFeatures: 20, seed: 4 });
    expect(mmcs(data.features, data.features, 16)).toBeCloseTo(1, 6);
    const noise = new SparseFeatureData({ dIn: 16, numFeatures: 20, seed: 5 }).features;
    expect(mmcs(data.features, noise, 16)).toBeLessThan(0.8);
  });

  it('reduced benchmark: standard (tuned L1) and topk (k = true L0) recover the features', async () => {
    // The full benchmark (d = 256, 512 features, ~5 active, 8,000 steps) runs in bench/mmcs.bench.ts.
    const d = 32;
    const data = new SparseFeatureData({ dIn: d, numFeatures: 64, meanActive: 3, seed: 1 });
    const started = performance.now();
    const result = await trainSaes({
      source: data,
      steps: 400,
      batchSize: 256,
      runs: [
        { name: 'standard', sae: saeConfig({ architecture: 'standard', dIn: d, dSae: 128 }), decoderNorm: 'unit', sparsityCoefficient: 0.15, lr: 5e-3, seed: 3, bDecInit: 'zeros' },
        { name: 'topk', sae: saeConfig({ architecture: 'topk', dIn: d, dSae: 128, k: 3 }), lr: 5e-3, seed: 3, bDecInit: 'zeros' },
      ],
    });
    const scores = result.runs.map((r) => mmcs(data.features, r.sae.W_dec.data() as Float32Array, d));
    expect(scores[0]).toBeGreaterThan(0.97);
    expect(scores[1]).toBeGreaterThan(0.97);
    expect(performance.now() - started).toBeLessThan(60_000);
  });
});
