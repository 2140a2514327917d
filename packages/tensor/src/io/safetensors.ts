/**
 * The safetensors format, shared by the reader and the writer.
 *
 * A file is an 8-byte little-endian u64 header length N, then N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the
 * raw little-endian tensor data. Offsets count from the start of the data section. Validation is as
 * strict as the reference implementation: the header is capped at 100 MB, and the tensors' byte
 * ranges must tile the data section exactly, with no overlap, gap or trailing bytes.
 *
 * Reading widens F16, BF16 and F64 to float32 (F64 loses precision: it is rounded to the nearest
 * float32) and reads every integer dtype and BOOL into int32, failing on values outside the int32
 * range. The 8-bit float and complex dtypes are recognised but cannot be read.
 */

import { SafetensorsError } from '../errors.ts';
import { bfloat16ToFloat32Bits, float16ToFloat32Bits } from './float16.ts';

/** A tensor as plain data: float32 or int32 values in row-major order. */
export interface RawTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** What a file says about one tensor, without reading its data. */
export interface SafetensorsTensorInfo {
  /** The dtype as the file spells it, e.g. `F16` or `I64`. */
  dtype: string;
  shape: number[];
  byteLength: number;
}

/** The reference implementation refuses headers above this size; so do we. */
export const MAX_HEADER_LENGTH = 100_000_000;

export const METADATA_KEY = '__metadata__';

/** Bytes per element of every dtype the format defines. */
export const DTYPE_SIZES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
  C64: 8,
});

/** The dtypes that can be read, and what they are read into. */
export const READABLE_DTYPES: Readonly<Record<string, 'float32' | 'int32'>> = Object.freeze({
  F32: 'float32',
  F16: 'float32',
  BF16: 'float32',
  F64: 'float32',
  I32: 'int32',
  I64: 'int32',
  U64: 'int32',
  U32: 'int32',
  I16: 'int32',
  U16: 'int32',
  I8: 'int32',
  U8: 'int32',
  BOOL: 'int32',
});

export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface ParsedHeader {
  /** Tensors by name; a Map so that names like `__proto__` are plain keys. */
  entries: Map<string, HeaderEntry>;
  metadata: Record<string, string>;
  /** Where the data section starts in the file: 8 + the header length. */
  dataStart: number;
}

/** True where typed arrays are little-endian, so file bytes can be copied straight in. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Sets an own enumerable property, so that a key like `__proto__` is stored, not interpreted. */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Builds SafetensorsErrors whose message starts with the file, when there is one. */
export function failer(op: string, file: string | undefined) {
  const where = file === undefined ? '' : `${JSON.stringify(file)}: `;
  return (summary: string, details: { arg?: string; expected?: string; given?: string; suggestions?: readonly string[] } = {}) =>
    new SafetensorsError(`${where}${summary}`, { op, ...details });
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `the array ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${truncate(JSON.stringify(value))}`;
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string, limit = 80): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}...`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads the header length from the first 8 bytes and checks it against the cap and the file size.
 * Returns N; the header is bytes [8, 8 + N).
 */
export function readHeaderLength(prefix: Uint8Array, fileLength: number, op: string, file?: string): number {
  const fail = failer(op, file);
  if (fileLength < 8 || prefix.length < 8) {
    throw fail('file is too short to be safetensors: it has no 8-byte header length', {
      expected: 'at least 8 bytes',
      given: `${fileLength} bytes`,
    });
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  // Beyond 2^53 the value is not exact, but it is far over the cap either way.
  const length = high * 4294967296 + low;
  if (length > MAX_HEADER_LENGTH) {
    throw fail('header length is too large', {
      expected: `at most ${MAX_HEADER_LENGTH} bytes`,
      given: high >= 0x200000 ? `about ${length.toExponential(3)} bytes` : `${length} bytes`,
    });
  }
  if (8 + length > fileLength) {
    throw fail('header length runs past the end of the file (truncated file?)', {
      expected: `at most ${fileLength - 8} bytes for a ${fileLength}-byte file`,
      given: `${length} bytes`,
    });
  }
  return length;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and validates the JSON header. `dataLength` is the size of the data section, which the
 * tensors' byte ranges must tile exactly.
 */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, op: string, file?: string): ParsedHeader {
  const fail = failer(op, file);
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    throw fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail(`header is not valid JSON (${(e as Error).message})`, { given: truncate(JSON.stringify(text)) });
  }
  if (!isPlainObject(json)) {
    throw fail('header is not a JSON object', { expected: 'an object of tensor entries', given: describeJson(json) });
  }

  const metadata: Record<string, string> = {};
  const entries = new Map<string, HeaderEntry>();
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(value)) {
        throw fail('`__metadata__` is not an object', { expected: 'an object of string values', given: describeJson(value) });
      }
      for (const [key, item] of Object.entries(value)) {
        if (typeof item !== 'string') {
          throw fail(`metadata value for key ${JSON.stringify(key)} is not a string`, { expected: 'a string', given: describeJson(item) });
        }
        setOwn(metadata, key, item);
      }
      continue;
    }
    entries.set(name, parseEntry(name, value, dataLength, fail));
  }
  checkTiling([...entries.values()], dataLength, fail);
  return { entries, metadata, dataStart: 8 + headerBytes.length };
}

type Fail = ReturnType<typeof failer>;

function parseEntry(name: string, value: unknown, dataLength: number, fail: Fail): HeaderEntry {
  const tensor = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(value)) {
    throw fail(`${tensor}: entry is not an object`, { expected: '{dtype, shape, data_offsets}', given: describeJson(value) });
  }
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(value, field)) throw fail(`${tensor}: entry is missing the field \`${field}\``, { expected: '{dtype, shape, data_offsets}' });
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') {
    throw fail(`${tensor}: \`dtype\` is not a string`, { expected: 'a dtype string such as "F32"', given: describeJson(dtype) });
  }
  const itemSize = Object.hasOwn(DTYPE_SIZES, dtype) ? DTYPE_SIZES[dtype] : undefined;
  if (itemSize === undefined) {
    throw fail(`${tensor}: unknown dtype ${JSON.stringify(dtype)}`, { expected: `one of ${Object.keys(DTYPE_SIZES).join(', ')}`, given: dtype });
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw fail(`${tensor}: \`shape\` must be an array of non-negative integers`, { expected: 'e.g. [2, 3]', given: describeJson(shape) });
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw fail(`${tensor}: \`data_offsets\` must be two non-negative integers [begin, end]`, {
      expected: '[begin, end]',
      given: describeJson(offsets),
    });
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) {
    throw fail(`${tensor}: \`data_offsets\` end is before begin`, { expected: 'begin <= end', given: `[${begin}, ${end}]` });
  }
  let elements = 1;
  for (const dim of shape as number[]) elements *= dim;
  const byteLength = elements * itemSize;
  if (byteLength !== end - begin) {
    throw fail(`${tensor}: shape and dtype do not match the byte length of data_offsets`, {
      expected: `${byteLength} bytes for ${dtype} with shape [${shape.join(', ')}]`,
      given: `data_offsets [${begin}, ${end}], ${end - begin} bytes`,
    });
  }
  if (end > dataLength) {
    throw fail(`${tensor}: data_offsets [${begin}, ${end}] are out of bounds of the data section`, {
      expected: `offsets within the ${dataLength}-byte data section`,
      given: `[${begin}, ${end}]`,
    });
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** The byte ranges, in order, must start at 0, follow one another without overlap or gap, and end at the data's end. */
function checkTiling(entries: HeaderEntry[], dataLength: number, fail: Fail): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of sorted) {
    if (entry.begin < position && previous !== undefined) {
      throw fail(
        `tensors ${JSON.stringify(previous.name)} and ${JSON.stringify(entry.name)} have overlapping data_offsets`,
        { expected: 'disjoint byte ranges', given: `[${previous.begin}, ${previous.end}] and [${entry.begin}, ${entry.end}]` },
      );
    }
    if (entry.begin > position) {
      throw fail(`bytes [${position}, ${entry.begin}) of the data section belong to no tensor (a gap before tensor ${JSON.stringify(entry.name)})`, {
        expected: 'tensor byte ranges that cover the data section contiguously',
      });
    }
    position = entry.end;
    previous = entry;
  }
  if (position !== dataLength) {
    throw fail(`the last ${dataLength - position} bytes of the data section belong to no tensor`, {
      expected: `tensor byte ranges that end at the data section's end, byte ${dataLength}`,
      given: `ranges that end at byte ${position}`,
    });
  }
}

export function entryInfo(entry: HeaderEntry): SafetensorsTensorInfo {
  return { dtype: entry.dtype, shape: [...entry.shape], byteLength: entry.end - entry.begin };
}

/** Decodes one tensor's bytes (exactly `entry.end - entry.begin` of them) into a RawTensor. */
export function decodeTensor(entry: HeaderEntry, bytes: Uint8Array, op: string, file?: string): RawTensor {
  const fail = failer(op, file);
  const tensor = `tensor ${JSON.stringify(entry.name)}`;
  const target = Object.hasOwn(READABLE_DTYPES, entry.dtype) ? READABLE_DTYPES[entry.dtype] : undefined;
  if (target === undefined) {
    throw fail(`${tensor} has dtype ${entry.dtype}, which cannot be read`, {
      expected: `one of ${Object.keys(READABLE_DTYPES).join(', ')}`,
      given: entry.dtype,
    });
  }
  const itemSize = DTYPE_SIZES[entry.dtype]!;
  const count = bytes.length / itemSize;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = [...entry.shape];

  if (target === 'float32') {
    const data = new Float32Array(count);
    switch (entry.dtype) {
      case 'F32':
        if (HOST_LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes);
        else for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
        break;
      case 'F16': {
        // Writing bit patterns keeps NaN payloads and signed zeros exact.
        const out = new Uint32Array(data.buffer);
        for (let i = 0; i < count; i++) out[i] = float16ToFloat32Bits(view.getUint16(2 * i, true));
        break;
      }
      case 'BF16': {
        const out = new Uint32Array(data.buffer);
        for (let i = 0; i < count; i++) out[i] = bfloat16ToFloat32Bits(view.getUint16(2 * i, true));
        break;
      }
      case 'F64':
        for (let i = 0; i < count; i++) data[i] = view.getFloat64(8 * i, true);
        break;
    }
    return { dtype: 'float32', shape, data };
  }

  const data = new Int32Array(count);
  const overflow = (i: number, value: string) =>
    fail(`${tensor}: ${entry.dtype} value ${value} at flat index ${i} does not fit in int32`, {
      expected: 'values in [-2147483648, 2147483647]',
      given: value,
    });
  switch (entry.dtype) {
    case 'I32':
      if (HOST_LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes);
      else for (let i = 0; i < count; i++) data[i] = view.getInt32(4 * i, true);
      break;
    case 'I64':
      for (let i = 0; i < count; i++) {
        const low = view.getUint32(8 * i, true);
        const high = view.getInt32(8 * i + 4, true);
        // Fits when the high word is just the sign extension of the low word.
        if (high !== (low | 0) >> 31) throw overflow(i, view.getBigInt64(8 * i, true).toString());
        data[i] = low | 0;
      }
      break;
    case 'U64':
      for (let i = 0; i < count; i++) {
        const low = view.getUint32(8 * i, true);
        const high = view.getUint32(8 * i + 4, true);
        if (high !== 0 || low > 0x7fffffff) throw overflow(i, view.getBigUint64(8 * i, true).toString());
        data[i] = low;
      }
      break;
    case 'U32':
      for (let i = 0; i < count; i++) {
        const value = view.getUint32(4 * i, true);
        if (value > 0x7fffffff) throw overflow(i, String(value));
        data[i] = value;
      }
      break;
    case 'I16':
      for (let i = 0; i < count; i++) data[i] = view.getInt16(2 * i, true);
      break;
    case 'U16':
      for (let i = 0; i < count; i++) data[i] = view.getUint16(2 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < count; i++) data[i] = view.getInt8(i);
      break;
    case 'U8':
      data.set(bytes);
      break;
    case 'BOOL':
      for (let i = 0; i < count; i++) data[i] = bytes[i] === 0 ? 0 : 1;
      break;
  }
  return { dtype: 'int32', shape, data };
}
