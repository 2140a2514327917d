import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latentCounts, restrictToLatents, selectAbove, selectBatchTopK, selectTopK, selectionRows } from './selection.ts';

/** Reference: sort each row's positive entries by (value desc, index asc) and keep k. */
function naiveTopK(values: number[], batch: number, width: number, k: number): number[][] {
  return Array.from({ length: batch }, (_, r) => {
    const row = values.slice(r * width, (r + 1) * width).map((v, j) => [v, j] as const);
    return row
      .filter(([v]) => v > 0)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k)
      .map(([, j]) => j)
      .sort((a, b) => a - b);
  });
}

function rowsOf(selection: ReturnType<typeof selectTopK>): number[][] {
  return Array.from({ length: selection.batch }, (_, r) => Array.from(selection.cols.subarray(selection.rowPtr[r]!, selection.rowPtr[r + 1]!)));
}

const valuesArb = fc.record({ batch: fc.integer({ min: 1, max: 4 }), width: fc.integer({ min: 1, max: 12 }) }).chain(({ batch, width }) =>
  fc.record({
    batch: fc.constant(batch),
    width: fc.constant(width),
    // Few distinct values, so ties are common.
    values: fc.array(fc.integer({ min: -3, max: 4 }).map((v) => v / 2), { minLength: batch * width, maxLength: batch * width }),
    k: fc.integer({ min: 0, max: width }),
  }),
);

describe('selection', () => {
  it('selectTopK matches a sort-based reference, ties to the lower index', () => {
    fc.assert(
      fc.property(valuesArb, ({ batch, width, values, k }) => {
        const selection = selectTopK(Float32Array.from(values), batch, width, k);
        expect(rowsOf(selection)).toEqual(naiveTopK(values, batch, width, k));
      }),
    );
  });

  it('selectTopK on wide rows (the SIMD-scanned path) matches the reference, with ties and few positives', () => {
    const wide = fc.record({ batch: fc.integer({ min: 1, max: 5 }), width: fc.integer({ min: 65, max: 300 }), k: fc.integer({ min: 1, max: 8 }) }).chain((dims) =>
      fc.record({
        dims: fc.constant(dims),
        // Mostly negative on some draws, so a row can end with fewer than k positives.
        values: fc.array(fc.integer({ min: -40, max: 12 }).map((v) => v / 4), { minLength: dims.batch * dims.width, maxLength: dims.batch * dims.width }),
      }),
    );
    fc.assert(
      fc.property(wide, ({ dims: { batch, width, k }, values }) => {
        const selection = selectTopK(Float32Array.from(values), batch, width, k);
        expect(rowsOf(selection)).toEqual(naiveTopK(values, batch, width, k));
      }),
      { numRuns: 60 },
    );
  });

  it('selectTopK respects an allowed mask', () => {
    const selection = selectTopK(Float32Array.from([5, 4, 3, 2]), 1, 4, 2, Uint8Array.from([0, 1, 0, 1]));
    expect(Array.from(selection.cols)).toEqual([1, 3]);
  });

  it('selectBatchTopK keeps the largest positives of the whole batch', () => {
    fc.assert(
      fc.property(valuesArb, ({ batch, width, values, k }) => {
        const total = k * batch;
        const selection = selectBatchTopK(Float32Array.from(values), batch, width, total);
        const flat = values.map((v, i) => [v, i] as const).filter(([v]) => v > 0);
        flat.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
        const expected = flat.slice(0, total).map(([, i]) => i).sort((a, b) => a - b);
        const rows = selectionRows(selection);
        const got = Array.from(selection.cols, (c, e) => rows[e]! * width + c);
        expect(got).toEqual(expected);
      }),
    );
  });

  it('selectAbove, counts and latent ranges', () => {
    const values = Float32Array.from([0.5, 2, 0, 3, 1, 0.1]);
    const selection = selectAbove(values, 2, 3, Float32Array.from([0.4, 2, 0]));
    expect(rowsOf(selection)).toEqual([[0], [0, 2]]);
    expect(Array.from(latentCounts(selection))).toEqual([2, 0, 1]);
    const { selection: prefix, positions } = restrictToLatents(selection, 0, 2);
    expect(rowsOf(prefix)).toEqual([[0], [0]]);
    expect(Array.from(positions)).toEqual([0, 1]);
  });
});
