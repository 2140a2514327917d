import { describe, expect, it } from 'vitest';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { mismatch, pair, readWasm, rng } from './test-views.ts';

const NEG_INF = Number.NEGATIVE_INFINITY;

/** [rows, len] values on both backends, with `special` rows overwritten: row index → its values (cycled). */
function rowsOf(rows: number, len: number, special: Record<number, readonly number[]> = {}) {
  const x = pair(rng(rows * 97 + len), [rows, len], 'contiguous', 'float32', 'normal');
  const data = new Float32Array(x.js.handle.length);
  data.set(jsBackend.read(x.js.handle, 'float32'));
  for (const [row, values] of Object.entries(special)) for (let j = 0; j < len; j++) data[x.js.offset + Number(row) * len + j] = values[j % values.length]!;
  jsBackend.write(x.js.handle, data);
  wasmBackend.write(x.wasm.handle, data);
  return x;
}

describe('wasm softmax and logSoftmax rows', () => {
  // Rows are read one ahead, so every case has several; lengths cover whole vectors, tails and both.
  const LENGTHS = [1, 3, 4, 5, 8, 11, 130];

  it('match the js backend over many rows, along the last axis and an inner one', () => {
    for (const op of ['softmax', 'logSoftmax'] as const)
      for (const rows of [1, 2, 5])
        for (const len of LENGTHS) {
          const x = rowsOf(rows, len);
          const size = rows * len;
          for (const axis of [1, 0]) {
            const actual = readWasm(wasmBackend.kernels[op](x.wasm, axis), 'float32', size);
            expect(mismatch(actual, jsBackend.kernels[op](x.js, axis) as Float32Array, 4e-6, 1e-6), `${op} [${rows}, ${len}] axis ${axis}`).toBeNull();
          }
        }
  });

  it('keep the reference results for rows with -Inf, fully -Inf, NaN, +Inf and large entries', () => {
    const special = { 0: [NEG_INF, 1, 2], 1: [NEG_INF], 2: [0.5, Number.NaN, 3], 3: [1, Number.POSITIVE_INFINITY], 4: [NEG_INF, 50, -50], 5: [300, -5, 7] };
    for (const op of ['softmax', 'logSoftmax'] as const)
      for (const len of LENGTHS) {
        const x = rowsOf(7, len, special);
        const actual = readWasm(wasmBackend.kernels[op](x.wasm, 1), 'float32', 7 * len);
        const expected = jsBackend.kernels[op](x.js, 1) as Float32Array;
        expect(mismatch(actual, expected, 4e-6, 1e-6), `${op} length ${len}`).toBeNull();
        // A NaN anywhere in a row (row 2 has one from length 2 on) makes the whole row NaN.
        if (len > 1) expect(Array.from(actual.subarray(2 * len, 3 * len)).every(Number.isNaN), `${op} length ${len}`).toBe(true);
      }
  });
});
