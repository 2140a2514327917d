import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type BpeTokenizer, loadPretrained, loadTokenizer } from '@glassbox/loaders';
import { HookedTransformer, configFromJSON, latestCheckpoint, loadCheckpoint } from '@glassbox/model';
import { ValueError } from '@glassbox/tensor';

export interface LoadedModel {
  model: HookedTransformer;
  /** What was loaded, for messages: "gpt2 from …", "checkpoint step 600 of …". */
  source: string;
  tokenizer: BpeTokenizer | null;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A Glassbox checkpoint folder (from the trainer) as a model; the model config sits under `model` in config.json. */
async function fromCheckpoint(path: string, label: string): Promise<LoadedModel> {
  const checkpoint = await loadCheckpoint(path);
  const runConfig = checkpoint.config as { model?: unknown } | null;
  const model = new HookedTransformer(configFromJSON(runConfig?.model ?? runConfig), { init: 'none' });
  model.loadStateDict(checkpoint.model);
  return { model, source: `${label} (step ${checkpoint.step})`, tokenizer: null };
}

/**
 * Loads `--model`: a Hugging Face folder (config.json with model_type, safetensors weights,
 * optional tokenizer files), a Glassbox run directory (its latest checkpoint), or one checkpoint folder.
 */
export async function loadModel(path: string): Promise<LoadedModel> {
  if (!(await isDirectory(path))) {
    throw new ValueError('no such model folder', { op: 'loadModel', arg: '--model', expected: 'a Hugging Face model folder, a run directory or a checkpoint folder', given: path });
  }
  if (await isFile(join(path, 'trainer-state.json'))) return fromCheckpoint(path, path);
  if (await isDirectory(join(path, 'checkpoints'))) {
    const latest = await latestCheckpoint(join(path, 'checkpoints'));
    return fromCheckpoint(latest.path, path);
  }
  if (await isFile(join(path, 'config.json'))) {
    const { model, architecture } = await loadPretrained(path);
    const hasTokenizer = (await isFile(join(path, 'tokenizer.json'))) || (await isFile(join(path, 'vocab.json')));
    return { model, source: `${architecture} from ${path}`, tokenizer: hasTokenizer ? await loadTokenizer(path) : null };
  }
  throw new ValueError('not a model folder', {
    op: 'loadModel',
    arg: '--model',
    expected: 'config.json (Hugging Face), checkpoints/ (a run) or trainer-state.json (a checkpoint)',
    given: path,
  });
}
