import { writeFileAtomic } from './atomic-write.ts';
import { DTypeError, ShapeError, ValueError } from '../errors.ts';
import { HOST_LITTLE_ENDIAN, METADATA_KEY, type RawTensor } from './safetensors.ts';

const FILE_DTYPES = { float32: 'F32', int32: 'I32' } as const;

function formatShape(shape: unknown): string {
  return Array.isArray(shape) ? `[${shape.map(String).join(', ')}]` : String(shape);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkTensor(op: string, name: string, tensor: RawTensor): void {
  const arg = `tensors[${JSON.stringify(name)}]`;
  if (typeof tensor !== 'object' || tensor === null) {
    throw new ValueError(`tensor ${JSON.stringify(name)} is not a {dtype, shape, data} object`, { op, arg, given: String(tensor) });
  }
  const { dtype, shape, data } = tensor;
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw new DTypeError(`tensor ${JSON.stringify(name)} has a dtype that cannot be written`, {
      op,
      arg,
      expected: "'float32' or 'int32'",
      given: String(dtype),
    });
  }
  const wanted = dtype === 'float32' ? Float32Array : Int32Array;
  if (!(data instanceof wanted)) {
    throw new DTypeError(`tensor ${JSON.stringify(name)}: data does not match dtype ${dtype}`, {
      op,
      arg,
      expected: wanted.name,
      given: (data as object | undefined)?.constructor?.name ?? String(data),
    });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ShapeError(`tensor ${JSON.stringify(name)}: shape must be an array of non-negative integers`, {
      op,
      arg,
      given: formatShape(shape),
    });
  }
  const elements = shape.reduce((a, b) => a * b, 1);
  if (elements !== data.length) {
    throw new ShapeError(`tensor ${JSON.stringify(name)}: shape does not match the number of values`, {
      op,
      arg,
      expected: `${elements} values for shape ${formatShape(shape)}`,
      given: `${data.length} values`,
    });
  }
}

/**
 * Serialises tensors to safetensors bytes, as F32 / I32. Tensors are laid out by sorted name; the
 * header is padded with spaces to a multiple of 8 bytes, as the reference implementation does, so
 * the data section starts 8-byte aligned and every tensor is 4-byte aligned.
 */
export function serializeSafetensors(tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const op = 'serializeSafetensors';
  if (typeof tensors !== 'object' || tensors === null) {
    throw new ValueError('`tensors` must be an object of named tensors', { op, arg: 'tensors', given: String(tensors) });
  }
  const names = Object.keys(tensors).sort(compareNames);
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new ValueError('`metadata` must be an object of strings', { op, arg: 'metadata', given: String(metadata) });
    }
    const keys = Object.keys(metadata).sort(compareNames);
    for (const key of keys) {
      const value = metadata[key];
      if (typeof value !== 'string') {
        throw new ValueError(`metadata value for key ${JSON.stringify(key)} is not a string`, {
          op,
          arg: 'metadata',
          expected: 'string values',
          given: typeof value,
        });
      }
    }
    // Written by hand: a JS object would reorder integer-like keys.
    if (keys.length > 0) {
      parts.push(`${JSON.stringify(METADATA_KEY)}:{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
    }
  }

  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) {
      throw new ValueError(`${JSON.stringify(METADATA_KEY)} is reserved and cannot name a tensor`, { op, arg: 'tensors', given: name });
    }
    const tensor = tensors[name]!;
    checkTensor(op, name, tensor);
    const end = offset + tensor.data.byteLength;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${FILE_DTYPES[tensor.dtype]}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }

  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 4294967296, true);
  view.setUint32(4, Math.floor(headerLength / 4294967296), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);

  let position = 8 + headerLength;
  for (const name of names) {
    const { dtype, data } = tensors[name]!;
    if (HOST_LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else if (dtype === 'float32') {
      for (let i = 0; i < data.length; i++) view.setFloat32(position + 4 * i, data[i]!, true);
    } else {
      for (let i = 0; i < data.length; i++) view.setInt32(position + 4 * i, data[i]!, true);
    }
    position += data.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file atomically (see writeFileAtomic): a crash leaves either the old file or
 * the new one, never a partial one.
 */
export async function writeSafetensors(path: string, tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Promise<void> {
  // Serialise first, so that bad input fails before anything touches the disk.
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
