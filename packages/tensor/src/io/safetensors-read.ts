import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { nearestNames } from '../errors.ts';
import {
  decodeTensor,
  entryInfo,
  failer,
  type HeaderEntry,
  type ParsedHeader,
  parseHeader,
  type RawTensor,
  readHeaderLength,
  type SafetensorsTensorInfo,
  setOwn,
} from './safetensors.ts';

function sortedNames(header: ParsedHeader): string[] {
  return [...header.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function lookup(header: ParsedHeader, name: string, op: string, file?: string): HeaderEntry {
  const entry = typeof name === 'string' ? header.entries.get(name) : undefined;
  if (entry === undefined) {
    const known = sortedNames(header);
    throw failer(op, file)(`no tensor named ${JSON.stringify(name)}`, {
      arg: 'name',
      expected: known.length === 0 ? 'a tensor name, but the file has none' : `one of the ${known.length} tensor names in the file`,
      given: JSON.stringify(name),
      suggestions: typeof name === 'string' ? nearestNames(name, known) : [],
    });
  }
  return entry;
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  const op = 'parseSafetensors';
  if (!(bytes instanceof Uint8Array)) {
    throw failer(op, undefined)('input must be a Uint8Array', { arg: 'bytes', expected: 'a Uint8Array', given: typeof bytes });
  }
  const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.length, op);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), bytes.length - 8 - headerLength, op);
  const tensors: Record<string, RawTensor> = {};
  for (const name of sortedNames(header)) {
    const entry = header.entries.get(name)!;
    const start = header.dataStart + entry.begin;
    setOwn(tensors, name, decodeTensor(entry, bytes.subarray(start, header.dataStart + entry.end), op));
  }
  return { tensors, metadata: header.metadata };
}

/**
 * A safetensors file opened for reading. Opening reads and validates only the header; each
 * `read` then fetches one tensor's bytes by offset, so large files are never loaded whole.
 */
export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  private handle: FileHandle | undefined;
  private readonly header: ParsedHeader;

  private constructor(path: string, handle: FileHandle, header: ParsedHeader) {
    this.path = path;
    this.handle = handle;
    this.header = header;
    this.metadata = header.metadata;
  }

  static async open(path: string): Promise<SafetensorsFile> {
    const op = 'SafetensorsFile.open';
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      throw failer(op, path)(`cannot open the file (${(e as Error).message})`, { arg: 'path' });
    }
    try {
      const { size } = await handle.stat();
      const prefix = await readExactly(handle, Math.min(8, size), 0, op, path);
      const headerLength = readHeaderLength(prefix, size, op, path);
      const headerBytes = await readExactly(handle, headerLength, 8, op, path);
      const header = parseHeader(headerBytes, size - 8 - headerLength, op, path);
      return new SafetensorsFile(path, handle, header);
    } catch (e) {
      await handle.close().catch(() => {});
      throw e;
    }
  }

  /** Tensor names, sorted. */
  keys(): string[] {
    return sortedNames(this.header);
  }

  has(name: string): boolean {
    return this.header.entries.has(name);
  }

  /** The file's dtype, shape and byte length for a tensor, without reading it. */
  info(name: string): SafetensorsTensorInfo {
    return entryInfo(lookup(this.header, name, 'SafetensorsFile.info', this.path));
  }

  /** Reads one tensor, widened or narrowed to float32 / int32. */
  async read(name: string): Promise<RawTensor> {
    const op = 'SafetensorsFile.read';
    const entry = lookup(this.header, name, op, this.path);
    const handle = this.handle;
    if (handle === undefined) throw failer(op, this.path)('the file has been closed');
    const bytes = await readExactly(handle, entry.end - entry.begin, this.header.dataStart + entry.begin, op, this.path);
    return decodeTensor(entry, bytes, op, this.path);
  }

  /** Reads every tensor, by sorted name. */
  async readAll(): Promise<Record<string, RawTensor>> {
    const tensors: Record<string, RawTensor> = {};
    for (const name of this.keys()) setOwn(tensors, name, await this.read(name));
    return tensors;
  }

  /** Closes the file; closing twice is harmless. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.close();
  }
}

/** Reads `length` bytes at `position`; a short read means the file shrank or was truncated. */
async function readExactly(handle: FileHandle, length: number, position: number, op: string, file: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw failer(op, file)('file ended early (truncated, or changed since it was opened)', {
        expected: `${length} bytes at offset ${position}`,
        given: `${filled} bytes`,
      });
    }
    filled += bytesRead;
  }
  return buffer;
}
