import { describe, expect, it } from 'vitest';
import {
  AnomalyError,
  AutogradError,
  log,
  setAnomalyMode,
  ShapeError,
  ValueError,
  arange,
  concat,
  expand,
  flip,
  matmul,
  noGrad,
  ones,
  permute,
  reshape,
  slice,
  sum,
  tensor,
  zeros,
} from './index.ts';

describe('Tensor views', () => {
  it('reshape of contiguous data shares the buffer', () => {
    const x = arange(6);
    const y = reshape(x, [2, 3]);
    expect(y.handle).toBe(x.handle);
    expect(y.toArray()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
  });

  it('permute, slice with steps, flip and expand are views', () => {
    const x = reshape(arange(12), [3, 4]);
    const t = permute(x, [1, 0]);
    expect(t.handle).toBe(x.handle);
    expect(t.toArray()).toEqual([
      [0, 4, 8],
      [1, 5, 9],
      [2, 6, 10],
      [3, 7, 11],
    ]);
    const s = slice(x, [null, [1, null, 2]]);
    expect(s.handle).toBe(x.handle);
    expect(s.toArray()).toEqual([
      [1, 3],
      [5, 7],
      [9, 11],
    ]);
    const f = flip(x, 1);
    expect(f.handle).toBe(x.handle);
    expect(f.toArray()).toEqual([
      [3, 2, 1, 0],
      [7, 6, 5, 4],
      [11, 10, 9, 8],
    ]);
    const e = expand(tensor([1, 2]), [3, 2]);
    expect(e.strides).toEqual([0, 1]);
    expect(e.toArray()).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
  });

  it('reshape of a non-contiguous view copies', () => {
    const t = permute(reshape(arange(6), [2, 3]), [1, 0]);
    expect(reshape(t, [6]).toArray()).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('nested arrays infer their shape; ragged ones are rejected', () => {
    expect(tensor([[1, 2, 3]]).shape).toEqual([1, 3]);
    expect(tensor(5).shape).toEqual([]);
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError);
  });
});

describe('batched matmul', () => {
  it('matches per-batch products for merged, unit-separated and broadcast batch layouts', () => {
    const a = reshape(arange(2 * 1 * 3 * 2 * 4, { dtype: 'float32' }), [2, 1, 3, 2, 4]);
    const b = reshape(arange(4 * 5, { dtype: 'float32' }), [4, 5]);
    const shuffled = permute(reshape(arange(3 * 2 * 2 * 4, { dtype: 'float32' }), [3, 2, 2, 4]), [1, 0, 2, 3]);
    for (const [x, y] of [
      [a, b],
      [shuffled, b],
      [a, permute(reshape(arange(2 * 5 * 4, { dtype: 'float32' }), [2, 1, 1, 5, 4]), [0, 1, 2, 4, 3])],
    ] as const) {
      const product = matmul(x, y);
      const batchShape = product.shape.slice(0, -2);
      const xs = reshape(expand(x, [...batchShape, ...x.shape.slice(-2)]), [-1, ...x.shape.slice(-2)]);
      const ys = reshape(expand(y, [...batchShape, ...y.shape.slice(-2)]), [-1, ...y.shape.slice(-2)]);
      const flat = reshape(product, [-1, ...product.shape.slice(-2)]);
      for (let i = 0; i < xs.shape[0]!; i++) {
        const one = (t: typeof xs) => slice(t, [[i, i + 1]]).squeeze(0);
        expect(one(flat).toArray()).toEqual(matmul(one(xs), one(ys)).toArray());
      }
    }
  });
});

describe('errors name the op, argument and shapes', () => {
  it('matmul inner dimension mismatch', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/matmul: inner dimensions differ; argument `b`; expected shape \[\.\.\., 3, n\].*given \[4, 5\]/);
  });
  it('broadcast failure', () => {
    expect(() => zeros([2, 3]).add(zeros([4]))).toThrow(/shapes cannot be broadcast together.*\[2, 3\] and \[4\]/);
  });
  it('bad axis', () => {
    expect(() => sum(zeros([2]), 3)).toThrow(ValueError);
  });
  it('concat shape mismatch names the tensor', () => {
    expect(() => concat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow(/tensors\[1\]/);
  });
});

describe('autograd', () => {
  it('accumulates gradients across reuse', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x).add(x).sum();
    y.backward();
    expect(Array.from(x.grad!.data())).toEqual([3, 5, 7]);
  });

  it('retainGrad keeps intermediate gradients and hooks can replace them', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    const seen: number[][] = [];
    h.registerHook((g) => {
      seen.push(Array.from(g.data()));
      return g.mul(2);
    });
    h.sum().backward();
    expect(seen).toEqual([[1, 1]]);
    expect(Array.from(h.grad!.data())).toEqual([2, 2]);
    expect(Array.from(x.grad!.data())).toEqual([6, 6]);
  });

  it('noGrad records nothing, detach cuts the graph', () => {
    const x = ones([2], { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(x.mul(2).detach().requiresGrad).toBe(false);
  });

  it('backward needs a seed for non-scalars', () => {
    const x = ones([2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(AutogradError);
  });
});

describe('anomaly mode', () => {
  it('names the first op whose output holds NaN or Inf, forward and backward', () => {
    setAnomalyMode(true);
    try {
      const x = tensor([1, 0, -1], { requiresGrad: true });
      expect(() => log(x)).toThrow(AnomalyError);
      expect(() => log(x)).toThrow(/^log: output contains Inf; expected finite values; given -Infinity at flat index 1/);
      const y = tensor([1, 0], { requiresGrad: true });
      // sqrt(0) is fine forward; its gradient 1/(2·0) is not.
      const loss = y.sqrt().sum();
      expect(() => loss.backward()).toThrow(/^sqrt backward \(div\): output contains Inf/);
    } finally {
      setAnomalyMode(false);
    }
    // Off by default: NaN flows through silently, as in PyTorch.
    expect(Number.isNaN(log(tensor([-1])).item())).toBe(true);
  });
});
