import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HookedTransformer, type TransformerConfig } from '@glassbox/model';
import { type Tensor, formatShape, nearestNames, tensor } from '@glassbox/tensor';
import type { Architecture, HfConfig, WeightRecipe } from './architectures/architecture.ts';
import { unknownModelType } from './architectures/architecture.ts';
import { gptNeox } from './architectures/gpt-neox.ts';
import { gpt2 } from './architectures/gpt2.ts';
import { CheckpointError } from './errors.ts';
import { WeightFiles } from './weight-files.ts';

/** The architectures that can be loaded, by Hugging Face `model_type`. */
export const ARCHITECTURES: Readonly<Record<string, Architecture>> = { gpt2, gpt_neox: gptNeox };

/** A loaded checkpoint: the model with its weights, and where they came from. */
export interface LoadedModel {
  model: HookedTransformer;
  config: TransformerConfig;
  /** The Hugging Face `model_type`: 'gpt2' or 'gpt_neox'. */
  architecture: string;
  folder: string;
}

/** Reads and parses config.json, and picks the architecture adapter its model_type names. */
export async function readHfConfig(folder: string): Promise<{ hf: HfConfig; architecture: Architecture; config: TransformerConfig; file: string }> {
  const op = 'readConfig';
  const file = join(folder, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CheckpointError(`cannot read the config (${(e as Error).message})`, { op, kind: 'missing-file', file, expected: 'a Hugging Face config.json' });
  }
  let hf: unknown;
  try {
    hf = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`config is not valid JSON (${(e as Error).message})`, { op, kind: 'bad-config', file });
  }
  if (typeof hf !== 'object' || hf === null || Array.isArray(hf)) throw new CheckpointError('config is not a JSON object', { op, kind: 'bad-config', file });
  const modelType = (hf as HfConfig).model_type;
  const architecture = typeof modelType === 'string' && Object.hasOwn(ARCHITECTURES, modelType) ? ARCHITECTURES[modelType] : undefined;
  if (architecture === undefined) throw unknownModelType(file, modelType, Object.keys(ARCHITECTURES));
  let config: TransformerConfig;
  try {
    config = architecture.config(hf as HfConfig, file);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`config gives an invalid model configuration: ${(e as Error).message}`, { op, kind: 'bad-config', file, cause: e });
  }
  return { hf: hf as HfConfig, architecture, config, file };
}

/**
 * An opened, validated checkpoint: the config is read, the weight headers are open, and every
 * recipe's source tensors are known to exist with the right shapes and a float dtype, with no
 * unexplained keys left over. No tensor data has been read yet.
 */
export class Checkpoint {
  readonly folder: string;
  readonly architecture: Architecture;
  readonly config: TransformerConfig;
  readonly files: WeightFiles;
  readonly recipes: readonly WeightRecipe[];

  private constructor(folder: string, architecture: Architecture, config: TransformerConfig, files: WeightFiles, recipes: WeightRecipe[]) {
    this.folder = folder;
    this.architecture = architecture;
    this.config = config;
    this.files = files;
    this.recipes = recipes;
  }

  static async open(folder: string): Promise<Checkpoint> {
    const { architecture, config } = await readHfConfig(folder);
    const files = await WeightFiles.open(folder);
    try {
      const keys = new Set(files.keys());
      const recipes = architecture.recipes(config, keys);
      validate(folder, files, keys, recipes, architecture);
      return new Checkpoint(folder, architecture, config, files, recipes);
    } catch (e) {
      await files.close();
      throw e;
    }
  }

  /** The number of distinct weights in the checkpoint (tied weights counted once), buffers excluded. */
  parameterCount(): number {
    const used = new Set(this.recipes.flatMap((r) => r.sources.map((s) => s.key)));
    let count = 0;
    for (const key of used) count += this.files.entry(key)!.shape.reduce((a, b) => a * b, 1);
    return count;
  }

  /**
   * Builds every Glassbox parameter in recipe order, reading each checkpoint tensor once and
   * dropping it as soon as no later recipe needs it, so at most a few source tensors are held.
   */
  async *tensors(): AsyncGenerator<[string, Float32Array, readonly number[]]> {
    const remaining = new Map<string, number>();
    for (const r of this.recipes) for (const s of r.sources) remaining.set(s.key, (remaining.get(s.key) ?? 0) + 1);
    const cache = new Map<string, Float32Array>();
    for (const recipe of this.recipes) {
      const sources: Float32Array[] = [];
      for (const { key } of recipe.sources) {
        let data = cache.get(key);
        if (data === undefined) {
          data = (await this.files.read(key)).data as Float32Array;
          cache.set(key, data);
        }
        sources.push(data);
        const left = remaining.get(key)! - 1;
        remaining.set(key, left);
        if (left === 0) cache.delete(key);
      }
      yield [recipe.target, recipe.build(sources), recipe.shape];
    }
  }

  /** Every Glassbox parameter as a fresh state dict, ready for `loadStateDict`. */
  async stateDict(): Promise<Record<string, Tensor>> {
    const out: Record<string, Tensor> = {};
    for await (const [target, data, shape] of this.tensors()) out[target] = tensor(data, { shape });
    return out;
  }

  async close(): Promise<void> {
    await this.files.close();
  }
}

function validate(folder: string, files: WeightFiles, keys: ReadonlySet<string>, recipes: readonly WeightRecipe[], architecture: Architecture): void {
  const op = 'Checkpoint.open';
  const used = new Set<string>();
  for (const recipe of recipes) {
    for (const source of recipe.sources) {
      used.add(source.key);
      const entry = files.entry(source.key);
      if (entry === undefined) {
        throw new CheckpointError(`missing weight for \`${recipe.target}\``, {
          op,
          kind: 'missing-key',
          file: folder,
          key: source.key,
          expected: `a tensor of shape ${formatShape(source.shape)} in the checkpoint`,
          given: `no such key among ${keys.size} keys`,
          suggestions: nearestNames(source.key, keys),
        });
      }
      if (entry.shape.length !== source.shape.length || entry.shape.some((n, i) => n !== source.shape[i])) {
        throw new CheckpointError(`wrong shape for \`${recipe.target}\` (config.json says otherwise)`, {
          op,
          kind: 'shape-mismatch',
          file: entry.file,
          key: source.key,
          expected: formatShape(source.shape),
          given: formatShape(entry.shape),
        });
      }
      if (!['F32', 'F16', 'BF16', 'F64'].includes(entry.dtype)) {
        throw new CheckpointError('weights must be floating point', { op, kind: 'bad-dtype', file: entry.file, key: source.key, expected: 'F32, F16, BF16 or F64', given: entry.dtype });
      }
    }
  }
  const unexpected = [...keys].filter((k) => !used.has(k) && !architecture.isIgnored(k) && !(k === 'lm_head.weight' && architecture.modelType === 'gpt2'));
  if (unexpected.length > 0) {
    const first = unexpected[0]!;
    throw new CheckpointError(`${unexpected.length} checkpoint tensor(s) have no place in a ${architecture.modelType} model`, {
      op,
      kind: 'unexpected-key',
      file: files.entry(first)!.file,
      key: first,
      expected: `only the keys of a ${architecture.modelType} checkpoint`,
      given: unexpected
        .slice(0, 5)
        .map((k) => JSON.stringify(k))
        .join(', '),
      suggestions: nearestNames(first, used),
    });
  }
}

/**
 * Loads a Hugging Face GPT-2 or GPT-NeoX/Pythia folder (config.json and model.safetensors, or
 * sharded safetensors with model.safetensors.index.json; F32, F16 or BF16) into a new
 * HookedTransformer. Every key and shape is checked from the headers before any data is read;
 * tensors are then read one at a time by offset and written into the model's parameters, which
 * are built without random initialisation. On any error the new model is discarded, so nothing is
 * ever half loaded.
 */
export async function loadPretrained(folder: string): Promise<LoadedModel> {
  const checkpoint = await Checkpoint.open(folder);
  try {
    // Every weight is overwritten below, so none is drawn at random first.
    const model = new HookedTransformer(checkpoint.config, { init: 'none' });
    const params = new Map(model.namedParameters());
    const targets = new Set(checkpoint.recipes.map((r) => r.target));
    const uncovered = [...params.keys()].filter((k) => !targets.has(k));
    const extra = [...targets].filter((k) => !params.has(k));
    const misshapen = checkpoint.recipes.filter((r) => params.has(r.target) && formatShape(r.shape) !== formatShape(params.get(r.target)!.shape)).map((r) => r.target);
    if (uncovered.length > 0 || extra.length > 0 || misshapen.length > 0) {
      throw new Error(
        `${checkpoint.architecture.modelType} adapter does not match the model: unset ${uncovered.join(', ')}; unknown ${extra.join(', ')}; wrong shape ${misshapen.join(', ')}`,
      );
    }
    for await (const [target, data] of checkpoint.tensors()) writeParameter(params.get(target)!, data);
    return { model, config: checkpoint.config, architecture: checkpoint.architecture.modelType, folder };
  } finally {
    await checkpoint.close();
  }
}

/**
 * Writes row-major float32 data straight into the buffer of a parameter that the model has just
 * built (its own contiguous buffer, of exactly its size): one copy, where wrapping the data in a
 * tensor and calling copyFrom would make three.
 */
function writeParameter(param: Tensor, data: Float32Array): void {
  if (data.length !== param.size || param.dtype !== 'float32' || param.offset !== 0) {
    throw new Error(`weight recipe built ${data.length} values for a ${param.dtype} parameter of ${param.size}`);
  }
  param.backend.write(param.handle, data);
}

/**
 * Reads a checkpoint folder into a fresh Glassbox state dict (validated before anything is read),
 * then loads it into an existing model whose configuration matches. The model is untouched unless
 * every tensor was read and every shape matches.
 */
export async function loadWeightsInto(model: HookedTransformer, folder: string): Promise<void> {
  const checkpoint = await Checkpoint.open(folder);
  let dict: Record<string, Tensor>;
  try {
    dict = await checkpoint.stateDict();
  } finally {
    await checkpoint.close();
  }
  model.loadStateDict(dict);
}
