import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../shape.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { setWasmThreads } from './thread-pool.ts';
import { type Layout, mismatch, pair, readWasm, rng } from './test-views.ts';

function check(random: () => number, batch: number[], m: number, k: number, n: number, la: Layout, lb: Layout): void {
  const a = pair(random, [...batch, m, k], la);
  const b = pair(random, [...batch, k, n], lb);
  const expected = jsBackend.kernels.matmul(a.js, b.js);
  const actual = readWasm(wasmBackend.kernels.matmul(a.wasm, b.wasm), 'float32', sizeOf([...batch, m, n]));
  // float32 accumulation in a different order: relative to the size of the terms, not of the sum.
  expect(mismatch(actual, expected, 1e-4, 2e-5 * Math.sqrt(k)), `${JSON.stringify(batch)} ${m}x${k}x${n} ${la}/${lb}`).toBeNull();
}

describe('wasm matmul agrees with the js reference', () => {
  it('on edge sizes around the 4×8 tile and the blocking', () => {
    const random = rng(11);
    for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [4, 8, 8], [5, 9, 17], [13, 1, 31], [1, 300, 1], [33, 257, 9], [130, 70, 260], [0, 4, 3], [3, 0, 5]] as const)
      for (const la of ['contiguous', 'permuted', 'flipped', 'stepped'] as const) check(random, [], m, k, n, la, la === 'contiguous' ? 'permuted' : 'contiguous');
  });

  it('batched, with broadcast and strided operands', () => {
    const random = rng(12);
    for (const layout of ['contiguous', 'mixed', 'broadcast', 'permuted'] as const) {
      check(random, [3], 7, 5, 6, layout, 'mixed');
      check(random, [2, 3], 9, 16, 12, 'mixed', layout);
      check(random, [5], 1, 64, 33, layout, layout);
    }
  });

  it('splits large products across threads with the same result', () => {
    const random = rng(13);
    setWasmThreads(2);
    try {
      check(random, [], 200, 150, 260, 'contiguous', 'contiguous');
      check(random, [], 300, 120, 20, 'permuted', 'contiguous');
      check(random, [3], 64, 90, 70, 'mixed', 'contiguous');
      check(random, [], 1, 2000, 700, 'contiguous', 'permuted');
    } finally {
      setWasmThreads(1);
    }
  });
});
