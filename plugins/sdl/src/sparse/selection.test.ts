import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getBackend, setBackend, tensor } from '@glassbox/tensor';
import { gatherSelected, latentCounts, restrictToLatents, selectAbove, selectBatchTopK, selectTopK, selectionRows, topKEntries } from './selection.ts';

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

  it('topKEntries matches the reference on every backend, with ties and few positives, and returns the chosen values', () => {
    // Rows wide enough for the wasm kernel's threshold scan; mostly negative on some draws, so a row can end with fewer than k positives.
    const wide = fc.record({ batch: fc.integer({ min: 1, max: 5 }), width: fc.integer({ min: 1, max: 300 }), k: fc.integer({ min: 0, max: 8 }) }).chain((dims) =>
      fc.record({
        dims: fc.constant({ ...dims, k: Math.min(dims.k, dims.width) }),
        values: fc.array(fc.integer({ min: -40, max: 12 }).map((v) => v / 4), { minLength: dims.batch * dims.width, maxLength: dims.batch * dims.width }),
        mask: fc.option(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: dims.width, maxLength: dims.width })),
      }),
    );
    const previous = getBackend().name;
    try {
      for (const name of ['js', 'wasm']) {
        setBackend(name);
        fc.assert(
          fc.property(wide, ({ dims: { batch, width, k }, values, mask }) => {
            const allowed = mask ? Uint8Array.from(mask) : undefined;
            const picked = topKEntries(tensor(Float32Array.from(values), { shape: [batch, width] }), k, allowed);
            const masked = allowed ? values.map((v, i) => (allowed[i % width] ? v : 0)) : values;
            expect(rowsOf(picked.selection)).toEqual(naiveTopK(masked, batch, width, k));
            expect(Array.from(picked.values)).toEqual(Array.from(gatherSelected(Float32Array.from(values), picked.selection)));
            expect(rowsOf(selectTopK(Float32Array.from(values), batch, width, k, allowed))).toEqual(rowsOf(picked.selection));
          }),
          { numRuns: 60 },
        );
      }
    } finally {
      setBackend(previous);
    }
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
