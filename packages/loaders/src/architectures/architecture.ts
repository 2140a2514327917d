import type { TransformerConfig } from '@glassbox/model';
import { nearestNames } from '@glassbox/tensor';
import { CheckpointError } from '../errors.ts';

/** A Hugging Face config.json, as parsed. */
export type HfConfig = Readonly<Record<string, unknown>>;

/** One checkpoint tensor a recipe reads, with the shape it must have. */
export interface SourceTensor {
  key: string;
  shape: readonly number[];
}

/**
 * How one Glassbox parameter is built from checkpoint tensors: read `sources` (validated against
 * their shapes first), then `build` lays their float32 data out as `shape`, row-major. `build` may
 * return a source array itself when no rearranging is needed.
 */
export interface WeightRecipe {
  target: string;
  shape: readonly number[];
  sources: readonly SourceTensor[];
  build: (sources: readonly Float32Array[]) => Float32Array;
}

/** What an architecture adapter knows: its config translation, its weight recipes and the buffers it may skip. */
export interface Architecture {
  /** The Hugging Face `model_type`. */
  readonly modelType: string;
  /** The Glassbox configuration the checkpoint's config.json describes. */
  config(hf: HfConfig, file: string): TransformerConfig;
  /** Every Glassbox parameter's recipe, given the checkpoint's key list (for prefixes and optional keys). */
  recipes(cfg: TransformerConfig, keys: ReadonlySet<string>): WeightRecipe[];
  /** Checkpoint keys that are buffers, not weights: present or not, they are not read. */
  isIgnored(key: string): boolean;
}

/** Reads config fields with checked types; every failure is a CheckpointError naming the file and field. */
export function configReader(hf: HfConfig, file: string) {
  const op = 'readConfig';
  const fail = (field: string, expected: string, given: unknown): never => {
    throw new CheckpointError('invalid config field', {
      op,
      kind: 'bad-config',
      file,
      key: field,
      expected,
      given: given === undefined ? 'nothing' : JSON.stringify(given),
    });
  };
  const has = (field: string) => Object.hasOwn(hf, field) && hf[field] !== null && hf[field] !== undefined;
  return {
    has,
    int(field: string, fallback?: number): number {
      const value = has(field) ? hf[field] : fallback;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail(field, 'a positive integer', value);
      return value as number;
    },
    num(field: string, fallback?: number): number {
      const value = has(field) ? hf[field] : fallback;
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, 'a finite number', value);
      return value as number;
    },
    bool(field: string, fallback: boolean): boolean {
      const value = has(field) ? hf[field] : fallback;
      if (typeof value !== 'boolean') fail(field, 'true or false', value);
      return value as boolean;
    },
    str(field: string, fallback?: string): string {
      const value = has(field) ? hf[field] : fallback;
      if (typeof value !== 'string') fail(field, 'a string', value);
      return value as string;
    },
    /** The first of several spellings of a field that is present (configs renamed fields over time). */
    pick(...fields: string[]): string {
      return fields.find(has) ?? fields[0]!;
    },
    unsupported(field: string, expected: string, given: unknown): never {
      throw new CheckpointError('this configuration is not supported', {
        op,
        kind: 'unsupported-config',
        file,
        key: field,
        expected,
        given: JSON.stringify(given),
      });
    },
    fail,
  };
}

/** Maps a Hugging Face activation name to Glassbox's actFn. */
export function activation(name: string, field: string, reader: ReturnType<typeof configReader>): 'gelu' | 'gelu_new' | 'relu' | 'silu' {
  switch (name) {
    case 'gelu':
      return 'gelu';
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return 'gelu_new';
    case 'relu':
      return 'relu';
    case 'silu':
    case 'swish':
      return 'silu';
    default:
      return reader.unsupported(field, "one of 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu'", name);
  }
}

/** The tensor as it is, or (with `sourceShape`) the same row-major data seen in another shape. */
export function identity(shape: readonly number[], key: string, target: string, sourceShape: readonly number[] = shape): WeightRecipe {
  return { target, shape, sources: [{ key, shape: sourceShape }], build: ([a]) => a! };
}

/** Tiles of this many rows and columns fit in the cache, so neither side of a transpose is read with a long stride. */
const TILE = 64;

/** Row-major [rows, cols] data laid out as [cols, rows]. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, cols);
      for (let c = c0; c < c1; c++) for (let r = r0; r < r1; r++) out[c * rows + r] = a[r * cols + c]!;
    }
  }
  return out;
}

/** [rows, cols] -> [cols, rows]. */
export function transposed(key: string, rows: number, cols: number, target: string): WeightRecipe {
  return { target, shape: [cols, rows], sources: [{ key, shape: [rows, cols] }], build: ([a]) => transpose(a!, rows, cols) };
}

export function zerosRecipe(shape: readonly number[], target: string): WeightRecipe {
  return { target, shape, sources: [], build: () => new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

/** The error for a config whose model_type no adapter handles. */
export function unknownModelType(file: string, given: unknown, known: readonly string[]): CheckpointError {
  return new CheckpointError('unknown model_type', {
    op: 'readConfig',
    kind: 'unknown-model-type',
    file,
    key: 'model_type',
    expected: `one of ${known.map((k) => JSON.stringify(k)).join(', ')}`,
    given: given === undefined ? 'nothing' : JSON.stringify(given),
    suggestions: typeof given === 'string' ? nearestNames(given, known) : [],
  });
}
