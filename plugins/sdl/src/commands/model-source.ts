import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InductionLanguage, type InductionLanguageOptions, latestCheckpoint } from '@glassbox/model';
import { Generator, ValueError, loadTensors } from '@glassbox/tensor';
import { ActivationStore, type TokenDataset } from '../store/activation-store.ts';
import type { HookedModelLike } from '../store/hooked-model.ts';

export interface ModelSourceOptions {
  /** The loaded `--model` (the CLI's RunContext.model). */
  model: unknown;
  /** Where it was loaded from: an organism's run directory or checkpoint records its data. */
  modelPath: string;
  hook: string;
  /** safetensors file with an int32 [n, seq] token tensor; '' uses the organism's own data. */
  tokens: string;
  tokensTensor: string;
  seed: number;
}

async function exists(path: string, kind: 'file' | 'directory'): Promise<boolean> {
  try {
    const s = await stat(path);
    return kind === 'file' ? s.isFile() : s.isDirectory();
  } catch {
    return false;
  }
}

/** The training config a Glassbox checkpoint (or a run directory's latest one) records, or null. */
async function recordedConfig(path: string): Promise<unknown> {
  let checkpoint = path;
  if (!(await exists(join(path, 'trainer-state.json'), 'file'))) {
    if (!(await exists(join(path, 'checkpoints'), 'directory'))) return null;
    checkpoint = (await latestCheckpoint(join(path, 'checkpoints'))).path;
  }
  try {
    return JSON.parse(await readFile(join(checkpoint, 'config.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The induction organism's own language, rebuilt from what `trainInduction` records (the language
 * options and the model seed, which seeds the bigram table as seed + 1), or null for other models.
 */
export async function organismLanguage(modelPath: string): Promise<InductionLanguage | null> {
  const config = (await recordedConfig(modelPath)) as { model?: { seed?: unknown }; language?: Partial<InductionLanguageOptions> } | null;
  const language = config?.language;
  if (!language || typeof language.dVocab !== 'number' || typeof language.seqLen !== 'number') return null;
  const seed = typeof config.model?.seed === 'number' ? config.model.seed : 0;
  return new InductionLanguage({ maxPrefix: 0, maxGap: 0, seed: seed + 1, ...language, dVocab: language.dVocab, seqLen: language.seqLen });
}

/** The sequences the store reads: a tokens file, else the organism's language, one fresh seeded batch per chunk. */
async function tokenDataset(options: ModelSourceOptions): Promise<TokenDataset> {
  if (options.tokens) {
    if (!(await exists(options.tokens, 'file'))) {
      throw new ValueError('no such tokens file', { op: 'sdl', arg: '--tokens', expected: 'a safetensors file holding an int32 [n, seq] tensor', given: options.tokens });
    }
    const loaded = await loadTensors(options.tokens, [options.tokensTensor]);
    return loaded[options.tokensTensor]!;
  }
  const language = await organismLanguage(options.modelPath);
  if (!language) {
    throw new ValueError('no token dataset for this model', {
      op: 'sdl',
      arg: '--tokens',
      expected: 'a safetensors file of int32 [n, seq] token ids (only an organism run or checkpoint records its own data)',
      given: '""',
    });
  }
  return (chunk, sequences) => language.batch(Generator.fromSeed(options.seed * 7919 + chunk), sequences);
}

/**
 * Streams `hook`'s activations of the loaded model over a token dataset, leaving out position 0
 * (the BOS). The hook name is checked against the model's hook points first, so a typo names the
 * nearest hooks instead of failing inside a forward pass.
 */
export async function modelSource(options: ModelSourceOptions): Promise<ActivationStore> {
  const model = options.model as (HookedModelLike & { hookPoint?: (name: string) => unknown }) | undefined;
  if (!model || typeof model.runWithHooks !== 'function') {
    throw new ValueError('no model to read activations from', { op: 'sdl', arg: '--model', expected: 'a model folder, run directory or checkpoint folder when source=model', given: options.modelPath || 'nothing' });
  }
  if (!options.hook) {
    throw new ValueError('no hook given', { op: 'sdl', arg: '--hook', expected: 'a hook name of the model, e.g. blocks.0.hook_resid_post', given: '""' });
  }
  model.hookPoint?.(options.hook);
  return ActivationStore.create({ model, hookName: options.hook, tokens: await tokenDataset(options), excludeFirstPosition: true, seed: options.seed });
}
