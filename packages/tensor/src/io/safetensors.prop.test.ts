import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../errors.ts';
import { parseSafetensors, type RawTensor, SafetensorsFile, serializeSafetensors, writeSafetensors } from './index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glassbox-safetensors-prop-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Shapes include 0-d scalars ([]) and empty dimensions (a 0 anywhere).
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });

const tensorArb: fc.Arbitrary<RawTensor> = fc
  .tuple(shapeArb, fc.constantFrom('float32' as const, 'int32' as const))
  .chain(([shape, dtype]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return dtype === 'float32'
      ? fc.float32Array({ minLength: n, maxLength: n }).map((data): RawTensor => ({ dtype, shape, data }))
      : fc.int32Array({ minLength: n, maxLength: n }).map((data): RawTensor => ({ dtype, shape, data }));
  });

// Any UTF-16 string, lone surrogates included, except the reserved key.
const nameArb = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s !== '__metadata__');
const tensorsArb = fc.dictionary(nameArb, tensorArb, { maxKeys: 6 });
const metadataArb = fc.option(fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 16 }), { maxKeys: 4 }), {
  nil: undefined,
});

/** Compares by bytes, so NaN payloads and signed zeros must survive too. */
function expectSameTensors(got: Record<string, RawTensor>, want: Record<string, RawTensor>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const name of Object.keys(want)) {
    const a = Object.getOwnPropertyDescriptor(got, name)!.value as RawTensor;
    const b = Object.getOwnPropertyDescriptor(want, name)!.value as RawTensor;
    expect(a.dtype).toBe(b.dtype);
    expect(a.shape).toEqual(b.shape);
    expect(a.data.constructor).toBe(b.data.constructor);
    expect(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)).toEqual(
      new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength),
    );
  }
}

function sameMetadata(got: Record<string, string>, want: Record<string, string> | undefined): void {
  expect(Object.entries(got).sort()).toEqual(Object.entries(want ?? {}).sort());
}

describe('safetensors round trips', () => {
  it('serialize then parse gives back the same tensors and metadata', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const bytes = serializeSafetensors(tensors, metadata);
        const headerLength = new DataView(bytes.buffer).getUint32(0, true);
        expect(headerLength % 8).toBe(0);
        const parsed = parseSafetensors(bytes);
        expectSameTensors(parsed.tensors, tensors);
        sameMetadata(parsed.metadata, metadata);
        // Serialising what was parsed gives the same bytes: the layout is canonical.
        expect(serializeSafetensors(parsed.tensors, parsed.metadata)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('writeSafetensors then SafetensorsFile.open and read gives back the same tensors', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(tensorsArb, metadataArb, async (tensors, metadata) => {
        const path = join(dir, `round-trip-${run++}.safetensors`);
        await writeSafetensors(path, tensors, metadata);
        const file = await SafetensorsFile.open(path);
        try {
          sameMetadata(file.metadata, metadata);
          const read: Record<string, RawTensor> = {};
          for (const name of file.keys()) {
            const tensor = await file.read(name);
            const info = file.info(name);
            expect(info.byteLength).toBe(tensor.data.byteLength);
            expect(info.dtype).toBe(tensor.dtype === 'float32' ? 'F32' : 'I32');
            Object.defineProperty(read, name, { value: tensor, enumerable: true });
          }
          expectSameTensors(read, tensors);
        } finally {
          await file.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a corrupted file either parses or raises SafetensorsError, never anything else', () => {
    const corruption = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(tensorsArb, fc.array(corruption, { minLength: 1, maxLength: 4 }), (tensors, changes) => {
        let bytes = serializeSafetensors(tensors, { k: 'v' });
        for (const change of changes) {
          if (bytes.length === 0) break;
          const at = change.at % bytes.length;
          if (change.kind === 'cut') bytes = bytes.slice(0, at);
          else bytes[at] = change.value;
        }
        try {
          parseSafetensors(bytes);
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});
