import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { generator } from '../random.ts';
import { Embedding } from './embedding.ts';

describe('Embedding', () => {
  it('looks up rows for ids of any shape', () => {
    const emb = new Embedding(5, 2, { generator: generator(0) });
    emb.loadStateDict({ weight: tensor([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]) });
    const out = emb.forward(tensor(Int32Array.from([4, 0, 2, 2]), { shape: [2, 2] }));
    expect(out.shape).toEqual([2, 2, 2]);
    expect(out.toArray()).toEqual([[[8, 9], [0, 1]], [[4, 5], [4, 5]]]);
  });

  it('initialises N(0, 1) deterministically and gets gradients only for used rows', () => {
    const a = new Embedding(100, 20, { generator: generator(7) });
    const b = new Embedding(100, 20, { generator: generator(7) });
    expect(a.weight.data()).toEqual(b.weight.data());
    const values = Array.from(a.weight.data());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
    a.forward(tensor(Int32Array.from([3, 3]))).sum().backward();
    const grad = a.weight.grad!.toArray() as number[][];
    expect(grad[3]).toEqual(Array(20).fill(2));
    expect(grad[4]).toEqual(Array(20).fill(0));
  });
});
