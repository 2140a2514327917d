import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../shape.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { LAYOUTS, mismatch, pair, readWasm, rng } from './test-views.ts';

const SHAPES = [[], [5], [7, 3], [4, 130], [2, 0, 3], [3, 2, 2, 3, 2]];

/** Bounds as the kernel may get them: fractional, infinite, crossed, past the int32 range, NaN. */
const BOUNDS: Array<[number, number]> = [
  [-1.5, 2],
  [-0.5, 0.5],
  [0.5, 7.9],
  [-7.9, -0.5],
  [Number.NEGATIVE_INFINITY, 3],
  [-3, Number.POSITIVE_INFINITY],
  [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
  [5, 3],
  [-3e9, 3e9],
  [2147483647.5, 3e9],
  [3e9, 4e9],
  [-5e9, -4e9],
  [-2147483648, 2147483647],
  [Number.NaN, 1],
  [0, Number.NaN],
];

describe('wasm int32 clamp', () => {
  it('agrees exactly with the js reference on every layout and bound', () => {
    const random = rng(77);
    for (const shape of SHAPES)
      for (const layout of LAYOUTS) {
        const x = pair(random, shape, layout, 'int32');
        // Some extremes of the int32 range among the small values.
        const data = Int32Array.from(x.js.handle, (v, i) => (i % 7 === 0 ? [0x7fffffff, -0x80000000, -1][i % 3]! : v));
        jsBackend.write(x.js.handle, data);
        wasmBackend.write(x.wasm.handle, data);
        for (const [min, max] of BOUNDS) {
          const expected = jsBackend.kernels.clamp(x.js, min, max);
          const actual = readWasm(wasmBackend.kernels.clamp(x.wasm, min, max), 'int32', sizeOf(shape));
          expect(mismatch(actual, expected, 0, 0), `${JSON.stringify(shape)} ${layout} [${min}, ${max}]`).toBeNull();
        }
      }
  });
});
