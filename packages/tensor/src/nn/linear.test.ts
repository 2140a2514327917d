import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { ValueError } from '../errors.ts';
import { generator } from '../random.ts';
import { Linear } from './linear.ts';

describe('Linear', () => {
  it('stores weight [out, in] and bias [out], drawn from U(-1/√in, 1/√in)', () => {
    const lin = new Linear(16, 8, { generator: generator(0) });
    expect(lin.weight.shape).toEqual([8, 16]);
    expect(lin.bias!.shape).toEqual([8]);
    const values = [...lin.weight.data(), ...lin.bias!.data()];
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...values)).toBeGreaterThan(0.15);
    expect(Math.min(...values)).toBeLessThan(-0.15);
    expect(Array.from(lin.namedParameters(), ([n]) => n)).toEqual(['weight', 'bias']);
  });

  it('is deterministic for a given generator', () => {
    const a = new Linear(4, 3, { generator: generator(42) });
    const b = new Linear(4, 3, { generator: generator(42) });
    const c = new Linear(4, 3, { generator: generator(43) });
    expect(a.weight.data()).toEqual(b.weight.data());
    expect(a.bias!.data()).toEqual(b.bias!.data());
    expect(a.weight.data()).not.toEqual(c.weight.data());
  });

  it('computes x Wᵀ + b over any leading axes', () => {
    const lin = new Linear(2, 3, { generator: generator(1) });
    lin.loadStateDict({ weight: tensor([[1, 2], [3, 4], [5, 6]]), bias: tensor([0.5, -1, 0]) });
    const y = lin.forward(tensor([[[1, 1]], [[2, -1]]]));
    expect(y.shape).toEqual([2, 1, 3]);
    expect(y.toArray()).toEqual([[[3.5, 6, 11]], [[0.5, 1, 4]]]);
  });

  it('can leave out the bias', () => {
    const lin = new Linear(3, 2, { bias: false });
    expect(lin.bias).toBeNull();
    expect(Object.keys(lin.stateDict())).toEqual(['weight']);
    expect(lin.forward(tensor([0, 0, 0])).toArray()).toEqual([0, 0]);
  });

  it('rejects bad sizes', () => {
    expect(() => new Linear(2.5, 2)).toThrow(ValueError);
    expect(() => new Linear(2, -1)).toThrow(/outFeatures/);
  });
});
