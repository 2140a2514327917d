import { describe, expect, it } from 'vitest';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { setWasmThreads, wasmThreadStats } from './thread-pool.ts';
import { mismatch, pair, readWasm, rng } from './test-views.ts';

describe('wasm thread pool in Node', () => {
  it('hands rows of a large product to worker threads, with the same result', async () => {
    const random = rng(21);
    const a = pair(random, [256, 256], 'contiguous');
    const b = pair(random, [256, 256], 'contiguous');
    const expected = jsBackend.kernels.matmul(a.js, b.js);
    setWasmThreads(2);
    try {
      const before = wasmThreadStats().workerRows;
      // Workers start in the background: the caller runs every row until one has come up.
      for (let i = 0; i < 200 && wasmThreadStats().workerRows === before; i++) {
        const actual = readWasm(wasmBackend.kernels.matmul(a.wasm, b.wasm), 'float32', 256 * 256);
        expect(mismatch(actual, expected, 1e-4, 2e-5 * 16)).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(wasmThreadStats().workers).toBe(1);
      expect(wasmThreadStats().workerRows).toBeGreaterThan(before);
      setWasmThreads(1);
      expect(wasmThreadStats().workers).toBe(0);
    } finally {
      setWasmThreads(1);
    }
  });
});
