import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type TensorFixture, loadJsonFixture, tensorFromFixture } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'glassbox-testing-fixtures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadJsonFixture', () => {
  it('reads JSON by path and by file URL', () => {
    const path = join(dir, 'case.json');
    const content = { x: { shape: [2], data: [1, 2] } };
    writeFileSync(path, JSON.stringify(content));
    expect(loadJsonFixture(path)).toEqual(content);
    expect(loadJsonFixture<typeof content>(pathToFileURL(path)).x.shape).toEqual([2]);
  });
});

describe('tensorFromFixture', () => {
  it('builds float32 tensors from flat or nested data', () => {
    const flat = tensorFromFixture({ shape: [2, 2], data: [1, 2, 3, 4] });
    const nested = tensorFromFixture({ shape: [2, 2], data: [[1, 2], [3, 4]] });
    expect(flat.dtype).toBe('float32');
    expect(flat.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(nested.toArray()).toEqual(flat.toArray());
  });

  it('handles int32, 0-d, empty and the non-finite spellings', () => {
    expect(tensorFromFixture({ shape: [3], dtype: 'int32', data: [7, -7, 2] }).data()).toEqual(new Int32Array([7, -7, 2]));
    expect(tensorFromFixture({ shape: [], data: 2.5 }).item()).toBe(2.5);
    expect(tensorFromFixture({ shape: [0, 3], data: [] }).shape).toEqual([0, 3]);
    expect(Array.from(tensorFromFixture({ shape: [3], data: ['NaN', 'Infinity', '-Infinity'] }).data())).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  it('throws on data that does not fill the shape, or on unknown strings', () => {
    expect(() => tensorFromFixture({ shape: [2, 2], data: [1, 2, 3] })).toThrow(/does not fill the shape/);
    expect(() => tensorFromFixture({ shape: [1], data: ['nan'] } as unknown as TensorFixture)).toThrow(/is not a number/);
  });
});
