import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { RMSNorm } from './rms-norm.ts';

describe('RMSNorm', () => {
  it('divides by the root mean square and scales', () => {
    const norm = new RMSNorm(2, { eps: 0 });
    const y = norm.forward(tensor([[3, 4]])).toArray() as number[][];
    const rms = Math.sqrt(12.5);
    expect(y[0]![0]).toBeCloseTo(3 / rms, 6);
    expect(y[0]![1]).toBeCloseTo(4 / rms, 6);
    norm.loadStateDict({ weight: tensor([2, -1]) });
    expect((norm.forward(tensor([[3, 4]])).toArray() as number[][])[0]![1]).toBeCloseTo(-4 / rms, 6);
  });

  it('has one weight, or none without affine, and trains it', () => {
    const norm = new RMSNorm(3);
    expect(Object.keys(norm.stateDict())).toEqual(['weight']);
    expect(new RMSNorm(3, { elementwiseAffine: false }).parameters()).toHaveLength(0);
    norm.forward(tensor([[1, 2, 3]])).sum().backward();
    expect(norm.weight!.grad!.shape).toEqual([3]);
  });
});
