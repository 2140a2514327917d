import { join } from 'node:path';
import { type BpeTokenizer, loadPretrained, loadTokenizer } from '@glassbox/loaders';
import { HookedTransformer, configFromJSON, latestCheckpoint, loadCheckpoint } from '@glassbox/model';
import { ValueError, pathExists } from '@glassbox/tensor';

export interface LoadedModel {
  model: HookedTransformer;
  /** What was loaded, for messages: "gpt2 from …", "checkpoint step 600 of …". */
  source: string;
  tokenizer: BpeTokenizer | null;
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
  if (!(await pathExists(path, 'directory'))) {
    throw new ValueError('no such model folder', { op: 'loadModel', arg: '--model', expected: 'a Hugging Face model folder, a run directory or a checkpoint folder', given: path });
  }
  if (await pathExists(join(path, 'trainer-state.json'), 'file')) return fromCheckpoint(path, path);
  if (await pathExists(join(path, 'checkpoints'), 'directory')) {
    const latest = await latestCheckpoint(join(path, 'checkpoints'));
    return fromCheckpoint(latest.path, path);
  }
  if (await pathExists(join(path, 'config.json'), 'file')) {
    const { model, architecture } = await loadPretrained(path);
    const hasTokenizer = (await pathExists(join(path, 'tokenizer.json'), 'file')) || (await pathExists(join(path, 'vocab.json'), 'file'));
    return { model, source: `${architecture} from ${path}`, tokenizer: hasTokenizer ? await loadTokenizer(path) : null };
  }
  throw new ValueError('not a model folder', {
    op: 'loadModel',
    arg: '--model',
    expected: 'config.json (Hugging Face), checkpoints/ (a run) or trainer-state.json (a checkpoint)',
    given: path,
  });
}
