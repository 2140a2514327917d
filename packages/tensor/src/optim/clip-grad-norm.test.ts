import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tensor, zeros } from '../creation.ts';
import { ValueError } from '../errors.ts';
import { clipGradNorm } from './clip-grad-norm.ts';

// Written by scripts/mlp_golden.py with torch.nn.utils.clip_grad_norm_.
const golden = JSON.parse(readFileSync(new URL('../fixtures/mlp-adamw.json', import.meta.url), 'utf8')) as {
  clip: { shapes: number[][]; grads: number[][]; cases: Array<{ maxNorm: number; normType: number | 'inf'; total: number; clipped: number[][] }> };
};

function withGrads(grads: readonly number[][], shapes: readonly number[][]) {
  return grads.map((g, i) => {
    const p = zeros(shapes[i]!, { requiresGrad: true });
    p.grad = tensor(g, { shape: shapes[i]! });
    return p;
  });
}

describe('clipGradNorm', () => {
  it('scales gradients to the max norm and returns the norm before clipping', () => {
    const [a, b] = withGrads([[3], [4]], [[1], [1]]);
    expect(clipGradNorm([a!, b!], 1)).toBeCloseTo(5, 6);
    const scale = 1 / (5 + 1e-6);
    expect(a!.grad!.item()).toBeCloseTo(3 * scale, 6);
    expect(b!.grad!.item()).toBeCloseTo(4 * scale, 6);
  });

  it('leaves small gradients alone, skips parameters without one, and returns 0 when none has one', () => {
    const [a] = withGrads([[0.3, 0.4]], [[2]]);
    const bare = zeros([3], { requiresGrad: true });
    expect(clipGradNorm([a!, bare], 10)).toBeCloseTo(0.5, 6);
    expect(Array.from(a!.grad!.data())).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    expect(bare.grad).toBeNull();
    expect(clipGradNorm([bare], 1)).toBe(0);
  });

  it('does not scale a gradient tensor that is shared elsewhere', () => {
    const shared = tensor([3, 4]);
    const p = zeros([2], { requiresGrad: true });
    p.grad = shared;
    clipGradNorm([p], 1);
    expect(Array.from(shared.data())).toEqual([3, 4]);
  });

  const { shapes, grads } = golden.clip;
  for (const c of golden.clip.cases) {
    it(`matches torch for maxNorm ${c.maxNorm}, norm type ${c.normType}`, () => {
      const params = withGrads(grads, shapes);
      const normType = c.normType === 'inf' ? Number.POSITIVE_INFINITY : c.normType;
      const total = clipGradNorm(params, c.maxNorm, { normType });
      expect(Math.abs(total - c.total)).toBeLessThanOrEqual(1e-6 * c.total);
      params.forEach((p, k) => {
        const got = p.grad!.data();
        c.clipped[k]!.forEach((want, i) => {
          expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-8);
        });
      });
    });
  }

  it('reports a non-finite norm when asked', () => {
    const [a] = withGrads([[Number.POSITIVE_INFINITY, 1]], [[2]]);
    expect(() => clipGradNorm([a!], 1, { errorIfNonfinite: true })).toThrow(ValueError);
    expect(() => clipGradNorm([a!], 1, { normType: 0 })).toThrow(/norm type/);
  });
});
