import { describe, expect, it } from 'vitest';
import { ValueError } from '../../errors.ts';
import { sizeOf } from '../../shape.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { LAYOUTS, type Layout, type Pair, mismatch, pair, readWasm, rng } from './test-views.ts';

/** An int32 view pair under `layout` whose elements are `pick()`. */
function indexPair(random: () => number, shape: readonly number[], layout: Layout, pick: () => number): Pair {
  const p = pair(random, shape, layout, 'int32');
  const data = Int32Array.from({ length: p.js.handle.length }, pick);
  jsBackend.write(p.js.handle, data);
  wasmBackend.write(p.wasm.handle, data);
  return p;
}

/** The message of what `run` throws, or null. */
function thrown(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(ValueError);
    return (e as Error).message;
  }
}

const DTYPES = ['float32', 'int32'] as const;

// [x shape, axis, index shape]: the index may be smaller than x off the axis.
const GATHER_CASES: Array<[number[], number, number[]]> = [
  [[7], 0, [5]],
  [[5, 9], 1, [5, 4]],
  [[5, 9], 0, [8, 9]],
  [[5, 9], 1, [3, 2]],
  [[3, 4, 6], 1, [3, 7, 6]],
  [[3, 4, 6], 2, [2, 4, 9]],
  [[2, 3, 4, 5], 0, [3, 3, 2, 5]],
  [[4, 3], 1, [4, 0]],
  [[1, 1], 0, [1, 1]],
];

// [x shape, axis, picks]
const SELECT_CASES: Array<[number[], number, number]> = [
  [[7], 0, 12],
  [[50, 16], 0, 40],
  [[50, 13], 0, 9],
  [[6, 9], 1, 11],
  [[3, 5, 7], 1, 8],
  [[3, 5, 4, 3], 2, 6],
  [[4, 3], 0, 0],
  [[0, 3], 1, 2],
  [[1], 0, 1],
];

describe('wasm gather and scatterAdd agree with the js reference', () => {
  it('gather on every layout of x and index', () => {
    const random = rng(31);
    for (const dtype of DTYPES)
      for (const [shape, axis, indexShape] of GATHER_CASES)
        for (const layout of LAYOUTS) {
          const x = pair(random, shape, layout, dtype, 'special');
          const index = indexPair(random, indexShape, LAYOUTS[Math.floor(random() * LAYOUTS.length)]!, () => Math.floor(random() * shape[axis]!));
          const expected = jsBackend.kernels.gather(x.js, axis, index.js);
          const actual = readWasm(wasmBackend.kernels.gather(x.wasm, axis, index.wasm), dtype, sizeOf(indexShape));
          expect(mismatch(actual, expected, 0, 0), `${dtype} ${JSON.stringify(shape)} axis ${axis} ${layout}`).toBeNull();
        }
  });

  it('scatterAdd with repeated indices adds every contribution, in the same order', () => {
    const random = rng(32);
    for (const dtype of DTYPES)
      for (const [shape, axis, indexShape] of GATHER_CASES)
        for (const layout of LAYOUTS) {
          const base = pair(random, shape, layout, dtype);
          // Few distinct targets, so most of them repeat.
          const index = indexPair(random, indexShape, layout, () => Math.floor(random() * Math.min(2, shape[axis]!)));
          const src = pair(random, indexShape, LAYOUTS[Math.floor(random() * LAYOUTS.length)]!, dtype, 'wide');
          const expected = jsBackend.kernels.scatterAdd(base.js, axis, index.js, src.js);
          const actual = readWasm(wasmBackend.kernels.scatterAdd(base.wasm, axis, index.wasm, src.wasm), dtype, sizeOf(shape));
          expect(mismatch(actual, expected, 0, 0), `${dtype} ${JSON.stringify(shape)} axis ${axis} ${layout}`).toBeNull();
        }
  });
});

describe('wasm indexSelect and indexAdd agree with the js reference', () => {
  it('indexSelect on every layout, including embedding-sized rows', () => {
    const random = rng(33);
    for (const dtype of DTYPES)
      for (const [shape, axis, picks] of SELECT_CASES)
        for (const layout of LAYOUTS) {
          const x = pair(random, shape, layout, dtype, 'special');
          const index = indexPair(random, [picks], layout === 'contiguous' ? 'contiguous' : 'flipped', () => Math.floor(random() * shape[axis]!));
          const outShape = shape.map((n, d) => (d === axis ? picks : n));
          const expected = jsBackend.kernels.indexSelect(x.js, axis, index.js);
          const actual = readWasm(wasmBackend.kernels.indexSelect(x.wasm, axis, index.wasm), dtype, sizeOf(outShape));
          expect(mismatch(actual, expected, 0, 0), `${dtype} ${JSON.stringify(shape)} axis ${axis} ${layout}`).toBeNull();
        }
  });

  it('indexAdd with repeated indices (the embedding backward)', () => {
    const random = rng(34);
    for (const dtype of DTYPES)
      for (const [shape, axis, picks] of SELECT_CASES)
        for (const layout of LAYOUTS) {
          const base = pair(random, shape, layout, dtype);
          const index = indexPair(random, [picks], 'stepped', () => Math.floor(random() * Math.min(3, shape[axis]!)));
          const srcShape = shape.map((n, d) => (d === axis ? picks : n));
          const src = pair(random, srcShape, layout, dtype, 'wide');
          const expected = jsBackend.kernels.indexAdd(base.js, axis, index.js, src.js);
          const actual = readWasm(wasmBackend.kernels.indexAdd(base.wasm, axis, index.wasm, src.wasm), dtype, sizeOf(shape));
          expect(mismatch(actual, expected, 0, 0), `${dtype} ${JSON.stringify(shape)} axis ${axis} ${layout}`).toBeNull();
        }
  });
});

describe('out-of-range indices raise the js reference error', () => {
  const random = rng(35);
  const x = pair(random, [4, 6], 'contiguous');
  for (const bad of [-1, 6, 1 << 30]) {
    it(`index ${bad}`, () => {
      // The bad index sits in the middle, after valid ones.
      const index = indexPair(random, [4, 3], 'contiguous', () => 2);
      const data = new Int32Array(index.js.handle.length).fill(2);
      data[index.js.offset + 4] = bad;
      data[index.js.offset + 7] = 7;
      jsBackend.write(index.js.handle, data);
      wasmBackend.write(index.wasm.handle, data);
      const src = pair(random, [4, 3], 'contiguous');
      const expected = thrown(() => jsBackend.kernels.gather(x.js, 1, index.js));
      expect(expected).toContain(`given ${bad}`);
      expect(thrown(() => wasmBackend.kernels.gather(x.wasm, 1, index.wasm))).toBe(expected);
      expect(thrown(() => wasmBackend.kernels.scatterAdd(x.wasm, 1, index.wasm, src.wasm))).toBe(thrown(() => jsBackend.kernels.scatterAdd(x.js, 1, index.js, src.js)));

      const picks = indexPair(random, [5], 'contiguous', () => 1);
      const pickData = Int32Array.of(...new Array(picks.js.offset).fill(0), 1, 3, bad, 0, 9);
      jsBackend.write(picks.js.handle, pickData);
      wasmBackend.write(picks.wasm.handle, pickData);
      const rows = pair(random, [4, 5], 'contiguous');
      for (const axis of [0, 1]) {
        const view = axis === 0 ? x : rows;
        expect(thrown(() => wasmBackend.kernels.indexSelect(view.wasm, axis, picks.wasm))).toBe(thrown(() => jsBackend.kernels.indexSelect(view.js, axis, picks.js)));
      }
      const srcRows = pair(random, [5, 6], 'contiguous');
      expect(thrown(() => wasmBackend.kernels.indexAdd(x.wasm, 0, picks.wasm, srcRows.wasm))).toBe(thrown(() => jsBackend.kernels.indexAdd(x.js, 0, picks.js, srcRows.js)));
    });
  }

  it('empty slices still check their indices, as the reference does', () => {
    const empty = pair(random, [3, 4, 0], 'contiguous');
    const picks = indexPair(random, [2], 'contiguous', () => 9);
    expect(thrown(() => jsBackend.kernels.indexSelect(empty.js, 1, picks.js))).not.toBeNull();
    expect(thrown(() => wasmBackend.kernels.indexSelect(empty.wasm, 1, picks.wasm))).toBe(thrown(() => jsBackend.kernels.indexSelect(empty.js, 1, picks.js)));
  });
});

describe('0-d operands', () => {
  it('gather and scatterAdd on a scalar pick element 0, and reject anything else', () => {
    const random = rng(36);
    for (const dtype of DTYPES) {
      const x = pair(random, [], 'contiguous', dtype);
      const src = pair(random, [], 'contiguous', dtype);
      for (const i of [0, 1]) {
        const index = indexPair(random, [], 'contiguous', () => i);
        expect(thrown(() => wasmBackend.kernels.gather(x.wasm, 0, index.wasm))).toBe(thrown(() => jsBackend.kernels.gather(x.js, 0, index.js)));
        if (i > 0) continue;
        expect(Array.from(readWasm(wasmBackend.kernels.gather(x.wasm, 0, index.wasm), dtype, 1))).toEqual(Array.from(jsBackend.kernels.gather(x.js, 0, index.js)));
        const added = readWasm(wasmBackend.kernels.scatterAdd(x.wasm, 0, index.wasm, src.wasm), dtype, 1);
        expect(Array.from(added)).toEqual(Array.from(jsBackend.kernels.scatterAdd(x.js, 0, index.js, src.js)));
      }
    }
  });
});
