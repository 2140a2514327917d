import { describe, expect, it } from 'vitest';
import type { View } from '../../backend.ts';
import type { TypedArray } from '../../dtype.ts';
import { jsBackend } from '../js/index.ts';
import type { WasmBuffer } from './memory.ts';
import { wasmBackend } from './index.ts';
import { mismatch, readWasm, rng } from './test-views.ts';

/** Contiguous [n] views of the same float32 data on both backends. */
function views(data: Float32Array): { js: View<TypedArray>; wasm: View<WasmBuffer> } {
  const js = jsBackend.allocate('float32', data.length);
  jsBackend.write(js, data);
  const wasm = wasmBackend.allocate('float32', data.length);
  wasmBackend.write(wasm, data);
  const view = { dtype: 'float32' as const, shape: [data.length], strides: [1], offset: 0 };
  return { js: { ...view, handle: js }, wasm: { ...view, handle: wasm } };
}

/** Math.pow rounded to float32 (the js reference) against the wasm kernel, with the signs of zeros. */
function comparePow(xs: Float32Array, ys: Float32Array, rtol: number): void {
  const [a, b] = [views(xs), views(ys)];
  const expected = jsBackend.kernels.pow(a.js, b.js);
  const actual = readWasm(wasmBackend.kernels.pow(a.wasm, b.wasm), 'float32', xs.length);
  for (let i = 0; i < xs.length; i++) {
    const tag = `pow(${xs[i]}, ${ys[i]})`;
    // One float32 ulp of the smallest subnormal as the absolute floor.
    expect(mismatch([actual[i]!], [expected[i]!], rtol, 1.5e-45), tag).toBeNull();
    if (expected[i] === 0) expect(Object.is(actual[i], expected[i]), `${tag}: ${actual[i]}, expected ${expected[i]}`).toBe(true);
  }
}

describe('wasm pow with a general float32 exponent', () => {
  it('matches Math.pow on special bases and exponents, pairwise', () => {
    const bases = [0, -0, 1, -1, 2, -2, 0.5, -0.5, 3.7, -3.7, 1e30, -1e30, 1e-30, 1e-40, -1e-40, 0.9999, 1.0001, 88, Infinity, -Infinity, Number.NaN];
    const exponents = [0, -0, 1, -1, 2, -2, 3, -3, 0.5, -0.5, 2.5, 1 / 3, 127, 128, -126, -149, -150, 1e10, -1e10, 16777217, Infinity, -Infinity, Number.NaN];
    const xs = new Float32Array(bases.length * exponents.length);
    const ys = new Float32Array(xs.length);
    bases.forEach((x, i) => {
      exponents.forEach((y, j) => {
        xs[i * exponents.length + j] = x;
        ys[i * exponents.length + j] = y;
      });
    });
    comparePow(xs, ys, 1e-6);
  });

  it('keeps float32 precision where y·ln|x| is large', () => {
    const random = rng(17);
    const n = 4099;
    // |x| over e^±20, y up to ±5: results reach the float32 range's ends, where an error in
    // ln|x| is multiplied by up to 100. Negative bases get integer exponents half the time.
    const xs = Float32Array.from({ length: n }, () => Math.exp((random() - 0.5) * 40) * (random() < 0.3 ? -1 : 1));
    const ys = Float32Array.from({ length: n }, (_, i) => {
      const y = (random() - 0.5) * 10;
      return xs[i]! < 0 && random() < 0.5 ? Math.round(y) : y;
    });
    comparePow(xs, ys, 1e-6);
  });
});
