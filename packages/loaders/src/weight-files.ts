import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RawTensor, SafetensorsFile, pathExists } from '@glassbox/tensor';
import { CheckpointError } from './errors.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Where one checkpoint tensor lives, and what its header says about it. */
export interface WeightEntry {
  key: string;
  file: string;
  /** The dtype as the file spells it, e.g. `F16`. */
  dtype: string;
  shape: number[];
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Opens a safetensors file, turning its format errors into a CheckpointError naming the file. */
async function openFile(path: string, op: string): Promise<SafetensorsFile> {
  try {
    return await SafetensorsFile.open(path);
  } catch (e) {
    throw new CheckpointError(`cannot read the safetensors file: ${(e as Error).message}`, {
      op,
      kind: 'corrupt-file',
      file: path,
      expected: 'a complete, valid safetensors file',
      cause: e,
    });
  }
}

/**
 * The weights of one Hugging Face folder: `model.safetensors`, or the shards listed by
 * `model.safetensors.index.json`. Opening reads only the headers; `read` fetches one tensor by offset.
 */
export class WeightFiles {
  readonly folder: string;
  readonly #entries: Map<string, WeightEntry>;
  readonly #files: Map<string, SafetensorsFile>;

  private constructor(folder: string, entries: Map<string, WeightEntry>, files: Map<string, SafetensorsFile>) {
    this.folder = folder;
    this.#entries = entries;
    this.#files = files;
  }

  static async open(folder: string): Promise<WeightFiles> {
    const op = 'WeightFiles.open';
    const single = join(folder, SINGLE_FILE);
    const index = join(folder, INDEX_FILE);
    const files = new Map<string, SafetensorsFile>();
    const entries = new Map<string, WeightEntry>();
    const closeAll = async () => {
      for (const f of files.values()) await f.close().catch(() => {});
    };
    try {
      if (await pathExists(index)) {
        const weightMap = await readIndex(index, op);
        for (const file of new Set(Object.values(weightMap))) files.set(file, await openFile(join(folder, file), op));
        for (const [key, file] of Object.entries(weightMap)) {
          const st = files.get(file)!;
          if (!st.has(key)) {
            throw new CheckpointError('the index maps this key to a shard that does not hold it', {
              op,
              kind: 'corrupt-file',
              file: join(folder, file),
              key,
              expected: `a tensor named ${JSON.stringify(key)} in the shard (per ${INDEX_FILE})`,
              given: `a shard with ${st.keys().length} other tensors`,
            });
          }
          const info = st.info(key);
          entries.set(key, { key, file: st.path, dtype: info.dtype, shape: info.shape });
        }
      } else if (await pathExists(single)) {
        const st = await openFile(single, op);
        files.set(SINGLE_FILE, st);
        for (const key of st.keys()) {
          const info = st.info(key);
          entries.set(key, { key, file: st.path, dtype: info.dtype, shape: info.shape });
        }
      } else {
        const hasBin = (await pathExists(join(folder, 'pytorch_model.bin'))) || (await pathExists(join(folder, 'pytorch_model.bin.index.json')));
        throw new CheckpointError(hasBin ? 'only safetensors weights can be read, and this folder has PyTorch pickles' : 'no weights found', {
          op,
          kind: 'missing-file',
          file: folder,
          expected: `${SINGLE_FILE} or ${INDEX_FILE} with its shards`,
          given: hasBin ? 'pytorch_model.bin (convert it to safetensors first)' : 'neither',
        });
      }
    } catch (e) {
      await closeAll();
      throw e;
    }
    return new WeightFiles(folder, entries, files);
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  entry(key: string): WeightEntry | undefined {
    return this.#entries.get(key);
  }

  /** Reads one floating-point tensor, widened to float32. */
  async read(key: string): Promise<RawTensor> {
    const op = 'WeightFiles.read';
    const entry = this.#entries.get(key);
    if (entry === undefined) throw new CheckpointError('no such tensor', { op, kind: 'missing-key', file: this.folder, key });
    if (!FLOAT_DTYPES.has(entry.dtype)) {
      throw new CheckpointError('weights must be floating point', {
        op,
        kind: 'bad-dtype',
        file: entry.file,
        key,
        expected: 'F32, F16, BF16 or F64',
        given: entry.dtype,
      });
    }
    const file = [...this.#files.values()].find((f) => f.path === entry.file)!;
    try {
      return await file.read(key);
    } catch (e) {
      throw new CheckpointError(`cannot read the tensor: ${(e as Error).message}`, { op, kind: 'corrupt-file', file: entry.file, key, cause: e });
    }
  }

  async close(): Promise<void> {
    for (const f of this.#files.values()) await f.close();
  }
}

async function readIndex(path: string, op: string): Promise<Record<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`cannot parse the shard index (${(e as Error).message})`, { op, kind: 'corrupt-file', file: path, expected: 'JSON with a weight_map' });
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map) || !Object.values(map).every((v) => typeof v === 'string' && !v.includes('/') && !v.includes('\\'))) {
    throw new CheckpointError('the shard index has no valid weight_map', {
      op,
      kind: 'corrupt-file',
      file: path,
      expected: '{"weight_map": {key: shard file name}}',
    });
  }
  return map as Record<string, string>;
}
