import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { LayerNorm } from './layer-norm.ts';

describe('LayerNorm', () => {
  it('normalises the last axis, then scales and shifts', () => {
    const ln = new LayerNorm(4);
    expect(Object.keys(ln.stateDict())).toEqual(['weight', 'bias']);
    const x = tensor([[1, 2, 3, 4], [2, 2, 2, 2]]);
    const y = ln.forward(x).toArray() as number[][];
    const inv = 1 / Math.sqrt(1.25 + 1e-5);
    [-1.5, -0.5, 0.5, 1.5].forEach((d, i) => {
      expect(y[0]![i]).toBeCloseTo(d * inv, 5);
    });
    expect(y[1]).toEqual([0, 0, 0, 0]);
    ln.loadStateDict({ weight: tensor([2, 2, 2, 2]), bias: tensor([1, 1, 1, 1]) });
    expect((ln.forward(x).toArray() as number[][])[0]![3]).toBeCloseTo(1 + 3 * inv, 5);
  });

  it('can go without affine parameters or without the bias', () => {
    expect(new LayerNorm(3, { elementwiseAffine: false }).parameters()).toHaveLength(0);
    const noBias = new LayerNorm(3, { bias: false, eps: 1e-6 });
    expect(Object.keys(noBias.stateDict())).toEqual(['weight']);
    expect(noBias.eps).toBe(1e-6);
    expect(noBias.forward(tensor([[0, 3, 6]])).shape).toEqual([1, 3]);
  });
});
