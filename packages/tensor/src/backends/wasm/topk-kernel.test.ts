import { describe, expect, it } from 'vitest';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { LAYOUTS, type Layout, mismatch, pair, readWasm, rng } from './test-views.ts';

/** A pair whose values are drawn by `value`, so rows can be full of ties. */
function valuesPair(random: () => number, shape: readonly number[], layout: Layout, dtype: 'float32' | 'int32', value: () => number) {
  const p = pair(random, shape, layout, dtype);
  const data = dtype === 'float32' ? new Float32Array(p.js.handle.length) : new Int32Array(p.js.handle.length);
  for (let i = 0; i < data.length; i++) data[i] = value();
  jsBackend.write(p.js.handle, data);
  wasmBackend.write(p.wasm.handle, data);
  return p;
}

const CASES: Array<[number[], number[]]> = [
  [[1], [0, 1]],
  [[7], [0, 1, 3, 7]],
  [[5, 9], [1, 4, 9]],
  [[3, 100], [1, 5, 32, 99, 100]],
  [[2, 3, 300], [32]],
  [[4, 0], [0]],
  [[0, 5], [2]],
  [[6, 1], [1]],
];

describe('wasm topk agrees with the js reference', () => {
  it('on every layout, both directions, with NaN, infinities and ties', () => {
    const random = rng(51);
    const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0];
    const draws = {
      special: () => (random() < 0.2 ? specials[Math.floor(random() * specials.length)]! : random() * 8 - 4),
      tied: () => Math.floor(random() * 4),
    };
    for (const dtype of ['float32', 'int32'] as const)
      for (const [shape, ks] of CASES)
        for (const layout of LAYOUTS)
          for (const [kind, draw] of Object.entries(draws)) {
            const x = valuesPair(random, shape, layout, dtype, dtype === 'int32' ? () => Math.round(draw()) || 0 : draw);
            const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
            for (const k of ks)
              for (const largest of [true, false]) {
                const expected = jsBackend.kernels.topk(x.js, k, largest);
                const actual = readWasm(wasmBackend.kernels.topk(x.wasm, k, largest), 'int32', rows * k);
                expect(mismatch(actual, expected, 0, 0), `${dtype} ${JSON.stringify(shape)} k ${k} ${largest ? 'largest' : 'smallest'} ${layout} ${kind}`).toBeNull();
              }
          }
  });

  it('a constant row ranks by index; NaN ties with +Inf', () => {
    const x = valuesPair(rng(52), [2, 10], 'contiguous', 'float32', () => 1);
    const data = new Float32Array(x.js.handle.length).fill(1);
    const row1 = x.js.offset + 10;
    data[row1 + 6] = Number.POSITIVE_INFINITY;
    data[row1 + 2] = Number.NaN;
    data[row1 + 8] = Number.POSITIVE_INFINITY;
    wasmBackend.write(x.wasm.handle, data);
    jsBackend.write(x.js.handle, data);
    const actual = Array.from(readWasm(wasmBackend.kernels.topk(x.wasm, 4, true), 'int32', 8));
    expect(actual).toEqual([0, 1, 2, 3, 2, 6, 8, 0]);
    expect(actual).toEqual(Array.from(jsBackend.kernels.topk(x.js, 4, true)));
    expect(Array.from(readWasm(wasmBackend.kernels.topk(x.wasm, 3, false), 'int32', 6))).toEqual([0, 1, 2, 0, 1, 3]);
  });

  it('k = 32 of a long row, as SAE training uses it', () => {
    const random = rng(53);
    const x = pair(random, [3, 8192], 'contiguous', 'float32', 'normal');
    for (const largest of [true, false]) {
      const expected = jsBackend.kernels.topk(x.js, 32, largest);
      expect(mismatch(readWasm(wasmBackend.kernels.topk(x.wasm, 32, largest), 'int32', 96), expected, 0, 0)).toBeNull();
    }
  });
});

describe('wasm topk on rows that defeat its threshold', () => {
  it('sorted rows, rows of zeros and mostly-zero rows', () => {
    const random = rng(54);
    const len = 300;
    const rows: Array<(i: number) => number> = [(i) => i, (i) => -i, () => 0, (i) => (i % 37 === 5 ? i % 7 : 0), (i) => (i < 150 ? 1 : 2)];
    const x = pair(random, [rows.length, len], 'contiguous');
    const data = new Float32Array(x.js.handle.length);
    rows.forEach((value, r) => {
      for (let i = 0; i < len; i++) data[x.js.offset + r * len + i] = value(i);
    });
    jsBackend.write(x.js.handle, data);
    wasmBackend.write(x.wasm.handle, data);
    for (const k of [1, 7, 32, 150, 299])
      for (const largest of [true, false]) {
        const expected = jsBackend.kernels.topk(x.js, k, largest);
        expect(mismatch(readWasm(wasmBackend.kernels.topk(x.wasm, k, largest), 'int32', rows.length * k), expected, 0, 0), `k ${k} ${largest}`).toBeNull();
      }
  });
});
