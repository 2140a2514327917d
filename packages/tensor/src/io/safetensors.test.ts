import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, SafetensorsError, ShapeError, ValueError } from '../errors.ts';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  parseSafetensors,
  type RawTensor,
  SafetensorsFile,
  serializeSafetensors,
  writeSafetensors,
} from './index.ts';

const fixturePath = fileURLToPath(new URL('../fixtures/mixed-dtypes.safetensors', import.meta.url));

interface GoldenTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  float32Bits?: number[];
  values?: number[];
  overflow?: boolean;
}

// Written by scripts/safetensors_fixtures.py from PyTorch tensors.
const golden = JSON.parse(readFileSync(new URL('../fixtures/mixed-dtypes.json', import.meta.url), 'utf8')) as {
  metadata: Record<string, string>;
  fileDtypes: Record<string, string>;
  tensors: Record<string, GoldenTensor>;
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glassbox-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds a file from a header (object or raw text) and a data section. */
function makeFile(header: object | string, data: Uint8Array | number = 0, headerLength?: number): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  const view = new DataView(out.buffer);
  const n = headerLength ?? json.length;
  view.setUint32(0, n % 2 ** 32, true);
  view.setUint32(4, Math.floor(n / 2 ** 32), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function expectError<E extends Error>(f: () => unknown, kind: new (...args: never[]) => E, ...fragments: string[]): E {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(kind);
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment);
  return caught as E;
}

async function expectAsyncError<E extends Error>(f: () => Promise<unknown>, kind: new (...args: never[]) => E, ...fragments: string[]): Promise<E> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(kind);
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment);
  return caught as E;
}

/** Checks a file both in memory and through SafetensorsFile.open, expecting the same error. */
async function expectCorrupt(bytes: Uint8Array, ...fragments: string[]): Promise<void> {
  expectError(() => parseSafetensors(bytes), SafetensorsError, ...fragments);
  const path = join(dir, `corrupt-${Math.random().toString(36).slice(2)}.safetensors`);
  await writeFile(path, bytes);
  const error = await expectAsyncError(() => SafetensorsFile.open(path), SafetensorsError, ...fragments);
  expect(error.message).toContain(path);
}

function checkGolden(name: string, tensor: RawTensor): void {
  const want = golden.tensors[name]!;
  expect(tensor.dtype).toBe(want.dtype);
  expect(tensor.shape).toEqual(want.shape);
  if (want.float32Bits !== undefined) {
    expect(tensor.data).toBeInstanceOf(Float32Array);
    expect(Array.from(new Uint32Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.length))).toEqual(want.float32Bits);
  } else {
    expect(tensor.data).toBeInstanceOf(Int32Array);
    expect(Array.from(tensor.data)).toEqual(want.values);
  }
}

describe('float16 and bfloat16 decoding', () => {
  it('decodes every half-precision bit pattern', () => {
    for (let h = 0; h < 0x10000; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >>> 10) & 0x1f;
      const fraction = h & 0x3ff;
      const want =
        exponent === 0x1f
          ? fraction === 0
            ? sign * Number.POSITIVE_INFINITY
            : Number.NaN
          : exponent === 0
            ? sign * fraction * 2 ** -24
            : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
      const got = float16ToFloat32(h);
      if (!Object.is(got, want)) throw new Error(`half 0x${h.toString(16)}: got ${got}, want ${want}`);
    }
  });

  it('decodes bfloat16 as the top half of a float32', () => {
    expect(bfloat16ToFloat32(0x3f80)).toBe(1);
    expect(bfloat16ToFloat32(0xc000)).toBe(-2);
    expect(Object.is(bfloat16ToFloat32(0x8000), -0)).toBe(true);
    expect(bfloat16ToFloat32(0x7f80)).toBe(Number.POSITIVE_INFINITY);
    expect(bfloat16ToFloat32(0x0001)).toBe(2 ** -133);
  });
});

describe('reading the PyTorch fixture', () => {
  it('reads every dtype through SafetensorsFile', async () => {
    const file = await SafetensorsFile.open(fixturePath);
    try {
      expect(file.metadata).toEqual(golden.metadata);
      expect(file.keys()).toEqual(Object.keys(golden.tensors).sort());
      for (const [name, want] of Object.entries(golden.tensors)) {
        const info = file.info(name);
        expect(info.dtype).toBe(golden.fileDtypes[name]);
        expect(info.shape).toEqual(want.shape);
        if (want.overflow) {
          await expectAsyncError(() => file.read(name), SafetensorsError, `"${name}"`, 'does not fit in int32', '2147483648', fixturePath);
        } else {
          checkGolden(name, await file.read(name));
        }
      }
    } finally {
      await file.close();
    }
  });

  it('reads the same values in memory, and fails whole-file parsing on the overflowing tensor', async () => {
    const bytes = new Uint8Array(await readFile(fixturePath));
    expectError(() => parseSafetensors(bytes), SafetensorsError, '"i64_overflow"', 'does not fit in int32');
    // Without the overflowing tensor everything parses; rebuild the file without it.
    const file = await SafetensorsFile.open(fixturePath);
    const tensors = await Promise.all(
      file
        .keys()
        .filter((k) => k !== 'i64_overflow')
        .map(async (k) => [k, await file.read(k)] as const),
    );
    await file.close();
    const rewritten = parseSafetensors(serializeSafetensors(Object.fromEntries(tensors), golden.metadata));
    for (const [name, tensor] of Object.entries(rewritten.tensors)) checkGolden(name, tensor);
    expect(rewritten.metadata).toEqual(golden.metadata);
  });

  it('reports byte lengths from the header', async () => {
    const file = await SafetensorsFile.open(fixturePath);
    expect(file.info('f16_matrix')).toEqual({ dtype: 'F16', shape: [2, 3], byteLength: 12 });
    expect(file.info('f32_scalar')).toEqual({ dtype: 'F32', shape: [], byteLength: 4 });
    expect(file.info('f16_empty').byteLength).toBe(0);
    expect(file.has('u8_values')).toBe(true);
    expect(file.has('nope')).toBe(false);
    await file.close();
  });
});

describe('reading other integer dtypes', () => {
  function single(dtype: string, shape: number[], bytes: number[]): Uint8Array {
    return makeFile({ t: { dtype, shape, data_offsets: [0, bytes.length] } }, new Uint8Array(bytes));
  }

  it('reads U16, U32, U64 and negative I64 within range', () => {
    expect(Array.from(parseSafetensors(single('U16', [2], [0xff, 0xff, 1, 0])).tensors.t!.data)).toEqual([65535, 1]);
    expect(Array.from(parseSafetensors(single('U32', [1], [0xff, 0xff, 0xff, 0x7f])).tensors.t!.data)).toEqual([2147483647]);
    expect(Array.from(parseSafetensors(single('U64', [1], [5, 0, 0, 0, 0, 0, 0, 0])).tensors.t!.data)).toEqual([5]);
    expect(Array.from(parseSafetensors(single('I64', [1], [0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff])).tensors.t!.data)).toEqual([-2147483648]);
  });

  it('rejects values outside int32, naming the tensor and the value', () => {
    expectError(() => parseSafetensors(single('U32', [1], [0, 0, 0, 0x80])), SafetensorsError, '"t"', 'U32 value 2147483648');
    expectError(() => parseSafetensors(single('U64', [1], [0, 0, 0, 0, 1, 0, 0, 0])), SafetensorsError, '"t"', 'U64 value 4294967296');
    expectError(
      () => parseSafetensors(single('I64', [2], [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff])),
      SafetensorsError,
      'I64 value -2147483649 at flat index 1',
    );
  });

  it('rejects dtypes it recognises but cannot read, naming tensor and dtype', async () => {
    const bytes = makeFile(
      { a: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'F32', shape: [], data_offsets: [2, 6] } },
      new Uint8Array([1, 2, 0, 0, 128, 63]),
    );
    expectError(() => parseSafetensors(bytes), SafetensorsError, 'tensor "a"', 'F8_E4M3', 'cannot be read');
    const path = join(dir, 'f8.safetensors');
    await writeFile(path, bytes);
    const file = await SafetensorsFile.open(path);
    expect(file.info('a').dtype).toBe('F8_E4M3');
    await expectAsyncError(() => file.read('a'), SafetensorsError, 'tensor "a"', 'F8_E4M3');
    // The other tensor is unaligned in the file (offset 2) and still reads correctly.
    expect(Array.from((await file.read('b')).data)).toEqual([1]);
    await file.close();
  });
});

describe('corrupt files', () => {
  const good = serializeSafetensors({
    weight: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) },
    bias: { dtype: 'int32', shape: [1], data: new Int32Array([3]) },
  });

  it('rejects files shorter than 8 bytes', async () => {
    await expectCorrupt(new Uint8Array(0), 'too short', '0 bytes');
    await expectCorrupt(new Uint8Array([1, 2, 3, 4, 5]), 'too short', '5 bytes');
  });

  it('rejects truncated files', async () => {
    await expectCorrupt(good.subarray(0, 20), 'header length runs past the end of the file');
    await expectCorrupt(good.subarray(0, good.length - 4), 'out of bounds', 'tensor "weight"');
  });

  it('rejects a huge header length', async () => {
    await expectCorrupt(makeFile('{}', 0, 2 ** 40), 'header length is too large', 'at most 100000000');
    const max = makeFile('{}');
    max.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    await expectCorrupt(max, 'header length is too large');
    await expectCorrupt(makeFile('{}', 0, 100_000_001), 'too large');
  });

  it('rejects headers that are not UTF-8 JSON objects', async () => {
    await expectCorrupt(makeFile('{"a": '), 'not valid JSON');
    await expectCorrupt(makeFile(''), 'not valid JSON');
    await expectCorrupt(makeFile('[1, 2]'), 'not a JSON object', 'array');
    await expectCorrupt(makeFile('null'), 'not a JSON object');
    const bad = makeFile('{"\u00e9":1}');
    bad[10] = 0xff; // breaks the two-byte UTF-8 sequence
    await expectCorrupt(bad, 'not valid UTF-8');
  });

  it('accepts an empty header with no data, and trailing spaces', () => {
    expect(parseSafetensors(makeFile('{}   ')).tensors).toEqual({});
  });

  it('rejects entries with missing or mistyped fields', async () => {
    await expectCorrupt(makeFile({ w: 3 }), 'tensor "w"', 'not an object');
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [1] } }, 4), 'tensor "w"', 'missing the field `data_offsets`');
    await expectCorrupt(makeFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4), 'missing the field `dtype`');
    await expectCorrupt(makeFile({ w: { dtype: 5, shape: [1], data_offsets: [0, 4] } }, 4), '`dtype` is not a string');
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), 'tensor "w"', 'non-negative integers', '[-1]');
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), 'non-negative integers');
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: '1', data_offsets: [0, 4] } }, 4), '`shape` must be');
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 4), '`data_offsets` must be two');
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), 'end is before begin');
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4), '`data_offsets` must be two');
  });

  it('rejects unknown dtypes', async () => {
    await expectCorrupt(makeFile({ w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, 4), 'tensor "w"', 'unknown dtype "F17"');
  });

  it('rejects shape and dtype that disagree with the byte length', async () => {
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20), 'tensor "w"', 'do not match', '24 bytes', '20 bytes');
    await expectCorrupt(makeFile({ w: { dtype: 'F16', shape: [4], data_offsets: [0, 16] } }, 16), 'tensor "w"', '8 bytes for F16');
  });

  it('rejects offsets outside the data section', async () => {
    await expectCorrupt(makeFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), 'tensor "w"', 'out of bounds', '4-byte data section');
  });

  it('rejects overlapping ranges, naming both tensors', async () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    await expectCorrupt(makeFile(header, 12), 'overlapping', '"a"', '"b"', '[0, 8] and [4, 12]');
    const same = { a: header.a, b: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } };
    await expectCorrupt(makeFile(same, 8), 'overlapping');
  });

  it('rejects gaps and trailing bytes', async () => {
    await expectCorrupt(makeFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'bytes [0, 4)', 'belong to no tensor');
    await expectCorrupt(makeFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 12), 'last 8 bytes', 'belong to no tensor');
    await expectCorrupt(makeFile({}, 4), 'last 4 bytes');
  });

  it('rejects metadata that is not an object of strings', async () => {
    await expectCorrupt(makeFile({ __metadata__: { version: 2 } }), 'metadata value for key "version" is not a string', 'number 2');
    await expectCorrupt(makeFile({ __metadata__: ['x'] }), '`__metadata__` is not an object');
  });

  it('keeps names such as __proto__ as ordinary keys', () => {
    const bytes = makeFile(
      '{"__metadata__":{"__proto__":"m"},"__proto__":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}',
      new Uint8Array([9, 0, 0, 0]),
    );
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(Array.from(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.data)).toEqual([9]);
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')!.value).toBe('m');
  });
});

describe('SafetensorsFile', () => {
  it('suggests the nearest names for an unknown key', async () => {
    const path = join(dir, 'names.safetensors');
    await writeSafetensors(path, {
      'layer.0.weight': { dtype: 'float32', shape: [1], data: new Float32Array([1]) },
      'layer.0.bias': { dtype: 'float32', shape: [1], data: new Float32Array([2]) },
      'layer.1.weight': { dtype: 'float32', shape: [1], data: new Float32Array([3]) },
    });
    const file = await SafetensorsFile.open(path);
    const error = await expectAsyncError(() => file.read('layer.0.weigth'), SafetensorsError, 'no tensor named "layer.0.weigth"', 'Did you mean `layer.0.weight`');
    expect(error.suggestions[0]).toBe('layer.0.weight');
    expect(error.arg).toBe('name');
    expectError(() => file.info('layer.2.bias'), SafetensorsError, 'no tensor named', path);
    expectError(() => file.info('toString'), SafetensorsError, 'no tensor named "toString"');
    await file.close();
    await file.close();
    await expectAsyncError(() => file.read('layer.0.bias'), SafetensorsError, 'closed');
  });

  it('reads lazily, and notices a file truncated after opening', async () => {
    const path = join(dir, 'shrinks.safetensors');
    await writeSafetensors(path, {
      a: { dtype: 'int32', shape: [2], data: new Int32Array([1, 2]) },
      b: { dtype: 'int32', shape: [2], data: new Int32Array([3, 4]) },
    });
    const file = await SafetensorsFile.open(path);
    const bytes = await readFile(path);
    await truncate(path, bytes.length - 8);
    expect(Array.from((await file.read('a')).data)).toEqual([1, 2]);
    await expectAsyncError(() => file.read('b'), SafetensorsError, 'file ended early', path);
    expect(Object.keys(await SafetensorsFile.open(join(dir, 'names.safetensors')).then((f) => f.readAll().finally(() => f.close())))).toHaveLength(3);
    await file.close();
  });

  it('reports a missing file clearly', async () => {
    await expectAsyncError(() => SafetensorsFile.open(join(dir, 'missing.safetensors')), SafetensorsError, 'cannot open', 'missing.safetensors');
  });
});

describe('serializeSafetensors', () => {
  it('writes the reference layout: sorted keys, space-padded header, aligned data', () => {
    const bytes = serializeSafetensors({ b: { dtype: 'float32', shape: [1], data: new Float32Array([1]) } }, { k: 'v' });
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header).toBe(`${'{"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'.padEnd(n, ' ')}`);
    expect(Array.from(bytes.subarray(8 + n))).toEqual([0, 0, 0x80, 0x3f]);
  });

  it('orders integer-like names as strings', () => {
    const t = (v: number): RawTensor => ({ dtype: 'int32', shape: [], data: new Int32Array([v]) });
    const bytes = serializeSafetensors({ '9': t(9), '10': t(10), a: t(1) });
    const n = new DataView(bytes.buffer).getUint32(0, true);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.indexOf('"10"')).toBeLessThan(header.indexOf('"9"'));
    expect(Array.from(bytes.subarray(8 + n))).toEqual([10, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('rejects tensors it cannot write', () => {
    expectError(
      () => serializeSafetensors({ w: { dtype: 'float32', shape: [1], data: new Int32Array(1) } }),
      DTypeError,
      'tensor "w"',
      'Float32Array',
    );
    expectError(
      () => serializeSafetensors({ w: { dtype: 'float64' as 'float32', shape: [1], data: new Float32Array(1) } }),
      DTypeError,
      'float64',
    );
    expectError(() => serializeSafetensors({ w: { dtype: 'int32', shape: [2, 2], data: new Int32Array(3) } }), ShapeError, '4 values', '3 values');
    expectError(() => serializeSafetensors({ w: { dtype: 'int32', shape: [-1], data: new Int32Array(0) } }), ShapeError, '[-1]');
    expectError(() => serializeSafetensors({ __metadata__: { dtype: 'int32', shape: [], data: new Int32Array(1) } }), ValueError, 'reserved');
    expectError(() => serializeSafetensors({}, { n: 1 as unknown as string }), ValueError, 'metadata value for key "n"');
  });
});

describe('writeSafetensors', () => {
  it('replaces an existing file', async () => {
    const path = join(dir, 'replace.safetensors');
    await writeFile(path, 'old contents');
    await writeSafetensors(path, { x: { dtype: 'float32', shape: [], data: new Float32Array([2.5]) } });
    const file = await SafetensorsFile.open(path);
    expect(Array.from((await file.read('x')).data)).toEqual([2.5]);
    await file.close();
  });

  it('removes its temporary file when the write fails, and writes nothing for bad input', async () => {
    const sub = join(dir, 'fails');
    await mkdir(join(sub, 'target.safetensors', 'occupied'), { recursive: true });
    // Renaming a file over a non-empty directory fails.
    await expect(writeSafetensors(join(sub, 'target.safetensors'), {})).rejects.toThrow();
    expect(await readdir(sub)).toEqual(['target.safetensors']);
    await expect(
      writeSafetensors(join(sub, 'bad.safetensors'), { w: { dtype: 'int32', shape: [2], data: new Int32Array(1) } }),
    ).rejects.toBeInstanceOf(ShapeError);
    expect(await readdir(sub)).toEqual(['target.safetensors']);
  });
});
