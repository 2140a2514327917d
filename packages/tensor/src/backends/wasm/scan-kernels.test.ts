import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../shape.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { LAYOUTS, mismatch, pair, readWasm, rng } from './test-views.ts';

const SHAPES = [[1], [7], [1000], [5, 9], [9, 5], [37, 66], [3, 4, 5], [2, 3, 4, 5], [6, 1], [1, 6], [4, 0, 3]];

/** Small integers: many exact ties along every axis. */
function tiedPair(random: () => number, shape: readonly number[], layout: (typeof LAYOUTS)[number], dtype: 'float32' | 'int32') {
  const p = pair(random, shape, layout, dtype);
  const data = dtype === 'float32' ? new Float32Array(p.js.handle.length) : new Int32Array(p.js.handle.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 3) - 1;
  jsBackend.write(p.js.handle, data);
  wasmBackend.write(p.wasm.handle, data);
  return p;
}

describe('wasm argmax and argmin agree with the js reference', () => {
  for (const op of ['argmax', 'argmin'] as const) {
    it(`${op} along every axis and layout, with ties, NaN and infinities`, () => {
      const random = rng(op.length + 40);
      for (const dtype of ['float32', 'int32'] as const)
        for (const shape of SHAPES)
          for (let axis = 0; axis < shape.length; axis++) {
            if (shape[axis] === 0) continue;
            for (const layout of LAYOUTS)
              for (const kind of ['special', 'tied'] as const) {
                const x = kind === 'tied' ? tiedPair(random, shape, layout, dtype) : pair(random, shape, layout, dtype, 'special');
                const expected = jsBackend.kernels[op](x.js, axis);
                const outSize = sizeOf(shape.filter((_, d) => d !== axis));
                const actual = readWasm(wasmBackend.kernels[op](x.wasm, axis), 'int32', outSize);
                expect(mismatch(actual, expected, 0, 0), `${op} ${dtype} ${JSON.stringify(shape)} axis ${axis} ${layout} ${kind}`).toBeNull();
              }
          }
    });
  }

  it('the first NaN wins wherever it is, and rows of -Inf give 0', () => {
    const rows = 9;
    const len = 13;
    const x = pair(rng(43), [rows, len], 'contiguous');
    const data = new Float32Array(x.js.handle.length).fill(Number.NEGATIVE_INFINITY);
    // Row r has NaNs at r and r + 2 (none in the last row); every row has a 5 at position 1.
    for (let r = 0; r < rows; r++) {
      data[x.js.offset + r * len + 1] = 5;
      if (r < rows - 1) {
        data[x.js.offset + r * len + r] = Number.NaN;
        data[x.js.offset + r * len + r + 2] = Number.NaN;
      }
    }
    jsBackend.write(x.js.handle, data);
    wasmBackend.write(x.wasm.handle, data);
    const actual = Array.from(readWasm(wasmBackend.kernels.argmax(x.wasm, 1), 'int32', rows));
    expect(actual).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 1]);
    expect(actual).toEqual(Array.from(jsBackend.kernels.argmax(x.js, 1)));
    // Along the columns (four rows per vector), the same rule.
    expect(Array.from(readWasm(wasmBackend.kernels.argmin(x.wasm, 0), 'int32', len))).toEqual(Array.from(jsBackend.kernels.argmin(x.js, 0)));
  });
});

describe('wasm cumsum agrees with the js reference', () => {
  it('along every axis and layout', () => {
    const random = rng(44);
    for (const dtype of ['float32', 'int32'] as const)
      for (const shape of SHAPES)
        for (let axis = 0; axis < shape.length; axis++)
          for (const layout of LAYOUTS) {
            const x = pair(random, shape, layout, dtype, 'wide');
            const expected = jsBackend.kernels.cumsum(x.js, axis);
            const actual = readWasm(wasmBackend.kernels.cumsum(x.wasm, axis), dtype, sizeOf(shape));
            // Both sum in float64 in the same order: the results are identical.
            expect(mismatch(actual, expected, 0, 0), `${dtype} ${JSON.stringify(shape)} axis ${axis} ${layout}`).toBeNull();
          }
  });
});
