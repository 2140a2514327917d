import { readFileSync } from 'node:fs';
import { type DType, type NestedArray, type Tensor, tensor } from '@glassbox/tensor';

/** JSON has no NaN or Infinity; fixtures spell them as these strings. */
export type FixtureNumber = number | 'NaN' | 'Infinity' | '-Infinity';
export type FixtureData = FixtureNumber | readonly FixtureData[];

export interface TensorFixture {
  shape: readonly number[];
  /** Default float32. */
  dtype?: DType;
  /** Values in row-major order, flat or nested. */
  data: FixtureData;
}

/** Parses a JSON file, given a path or a URL (`new URL('./fixtures/x.json', import.meta.url)`). */
export function loadJsonFixture<T = unknown>(location: string | URL): T {
  return JSON.parse(readFileSync(location, 'utf8')) as T;
}

function toNumber(value: FixtureNumber): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  throw new TypeError(`tensorFromFixture: ${JSON.stringify(value)} is not a number, 'NaN', 'Infinity' or '-Infinity'`);
}

function flattenData(data: FixtureData, out: number[]): number[] {
  if (Array.isArray(data)) for (const item of data as readonly FixtureData[]) flattenData(item, out);
  else out.push(toNumber(data as FixtureNumber));
  return out;
}

/** A tensor from `{ shape, dtype, data }`; throws when the data does not fill the shape. */
export function tensorFromFixture({ shape, dtype = 'float32', data }: TensorFixture): Tensor {
  const flat: NestedArray = flattenData(data, []);
  return tensor(flat, { shape, dtype });
}
