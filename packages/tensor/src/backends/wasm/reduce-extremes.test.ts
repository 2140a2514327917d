import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../shape.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { LAYOUTS, mismatch, pair, readWasm, rng } from './test-views.ts';

/**
 * max and min keep four accumulators over 16-element blocks of a row, and reduce a leading axis
 * four columns per vector: shapes here cover whole blocks, partial blocks and every tail length.
 */
const CASES: Array<[number[], number[]]> = [
  [[3, 70], [1]],
  [[2, 16], [1]],
  [[4, 47], [1]],
  [[70, 37], [0]],
  [[9, 16], [0]],
  [[5, 64], [0]],
  [[8, 7], [0]],
  [[3, 6], [0]],
  [[6, 83], [0, 1]],
  [[3, 18, 5], [1, 2]],
];

describe('wasm max and min', () => {
  for (const op of ['max', 'min'] as const) {
    it(`${op} agrees with the js reference on finite and special values`, () => {
      const random = rng(op === 'max' ? 41 : 42);
      for (const dtype of ['float32', 'int32'] as const)
        for (const kind of ['normal', 'special'] as const)
          for (const [shape, axes] of CASES)
            for (const layout of LAYOUTS) {
              const x = pair(random, shape, layout, dtype, kind);
              const expected = jsBackend.kernels[op](x.js, axes);
              const outShape = shape.filter((_, d) => !axes.includes(d));
              const actual = readWasm(wasmBackend.kernels[op](x.wasm, axes), dtype, sizeOf(outShape));
              expect(mismatch(actual, expected, 0, 0), `${op} ${dtype} ${kind} ${JSON.stringify(shape)} ${JSON.stringify(axes)} ${layout}`).toBeNull();
            }
    });

    it(`${op} is NaN exactly where one NaN lies, wherever it sits in a block`, () => {
      for (const [rows, cols, axis] of [
        [3, 37, 1],
        [37, 35, 0],
      ] as const) {
        const reduced = axis === 1 ? cols : rows;
        for (let at = 0; at < reduced; at++) {
          const data = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 7919) % 1000) - 500);
          // One NaN in output 1, and ±Inf in output 0 at the same place.
          const [nanIndex, infIndex] = axis === 1 ? [cols + at, at] : [at * cols + 1, at * cols];
          data[nanIndex] = Number.NaN;
          data[infIndex] = op === 'max' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
          const handle = wasmBackend.allocate('float32', data.length);
          wasmBackend.write(handle, data);
          const view = { handle, dtype: 'float32' as const, shape: [rows, cols], strides: [cols, 1], offset: 0 };
          const out = readWasm(wasmBackend.kernels[op](view, [axis]), 'float32', axis === 1 ? rows : cols);
          const tag = `${rows}x${cols} axis ${axis}, at ${at}`;
          expect(out[0], tag).toBe(data[infIndex]);
          expect(out[1], tag).toBeNaN();
          for (let k = 2; k < out.length; k++) expect(Number.isNaN(out[k]!), `${tag} output ${k}`).toBe(false);
        }
      }
    });
  }
});
