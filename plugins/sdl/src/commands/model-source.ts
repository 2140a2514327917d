import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tokenizer } from '@glassbox/core';
import { InductionLanguage, type InductionLanguageOptions, latestCheckpoint } from '@glassbox/model';
import { Generator, ValueError, loadTensors, pathExists } from '@glassbox/tensor';
import { ActivationStore, type TokenDataset } from '../store/activation-store.ts';
import type { HookedModelLike } from '../store/hooked-model.ts';
import { textTokens } from './text-tokens.ts';

export interface ModelSourceOptions {
  /** The loaded `--model` (the CLI's RunContext.model). */
  model: unknown;
  /** Where it was loaded from: an organism's run directory or checkpoint records its data. */
  modelPath: string;
  hook: string;
  /** safetensors file with an int32 [n, seq] token tensor; '' uses the organism's own data. */
  tokens: string;
  tokensTensor: string;
  /** UTF-8 text file tokenized with `tokenizer` into sequences of `contextSize`; '' for none. */
  text?: string;
  /** Tokens per text sequence, BOS included; 0 means min(nCtx, 128). */
  contextSize?: number;
  /** The model's tokenizer (the CLI's RunContext.tokenizer), needed for `text`. */
  tokenizer?: Tokenizer;
  seed: number;
}

/** What the activations were read over, in SAELens's metadata spelling. */
export interface ModelSourceMetadata {
  context_size?: number;
  prepend_bos?: boolean;
  dataset_path?: string;
}

interface ModelDataset {
  tokens: TokenDataset;
  /** Position 0 holds BOS, so the store leaves it out. */
  excludeFirstPosition: boolean;
  metadata: ModelSourceMetadata;
}

/** The training config a Glassbox checkpoint (or a run directory's latest one) records, or null. */
async function recordedConfig(path: string): Promise<unknown> {
  let checkpoint = path;
  if (!(await pathExists(join(path, 'trainer-state.json'), 'file'))) {
    if (!(await pathExists(join(path, 'checkpoints'), 'directory'))) return null;
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

/** The sequences the store reads: a text file, a tokens file, else the organism's language, one fresh seeded batch per chunk. */
async function tokenDataset(options: ModelSourceOptions): Promise<ModelDataset> {
  if (options.text && options.tokens) {
    throw new ValueError('--text and --tokens both given', { op: 'sdl', arg: '--text', expected: 'either a text file or a tokens file, not both', given: `${options.text} and ${options.tokens}` });
  }
  if (options.text) {
    const cfg = (options.model as { cfg?: { nCtx?: unknown; dVocab?: unknown } }).cfg;
    const text = await textTokens({
      path: options.text,
      tokenizer: options.tokenizer,
      contextSize: options.contextSize ?? 0,
      nCtx: typeof cfg?.nCtx === 'number' ? cfg.nCtx : undefined,
      dVocab: typeof cfg?.dVocab === 'number' ? cfg.dVocab : undefined,
      modelPath: options.modelPath,
    });
    return { tokens: text.tokens, excludeFirstPosition: text.prependBos, metadata: { context_size: text.contextSize, prepend_bos: text.prependBos, dataset_path: options.text } };
  }
  if (options.tokens) {
    if (!(await pathExists(options.tokens, 'file'))) {
      throw new ValueError('no such tokens file', { op: 'sdl', arg: '--tokens', expected: 'a safetensors file holding an int32 [n, seq] tensor', given: options.tokens });
    }
    const loaded = await loadTensors(options.tokens, [options.tokensTensor]);
    const tokens = loaded[options.tokensTensor]!;
    return { tokens, excludeFirstPosition: true, metadata: { ...(tokens.rank === 2 ? { context_size: tokens.shape[1]! } : {}), dataset_path: options.tokens } };
  }
  const language = await organismLanguage(options.modelPath);
  if (!language) {
    throw new ValueError('no token dataset for this model', {
      op: 'sdl',
      arg: '--tokens',
      expected: 'a safetensors file of int32 [n, seq] token ids, or --text with a model that has a tokenizer (only an organism run or checkpoint records its own data)',
      given: '""',
    });
  }
  return { tokens: (chunk, sequences) => language.batch(Generator.fromSeed(options.seed * 7919 + chunk), sequences), excludeFirstPosition: true, metadata: {} };
}

/**
 * Streams `hook`'s activations of the loaded model over a token dataset, leaving out position 0
 * (the BOS), and says what the dataset was. The hook name is checked against the model's hook
 * points first, so a typo names the nearest hooks instead of failing inside a forward pass.
 */
export async function openModelSource(options: ModelSourceOptions): Promise<{ store: ActivationStore; metadata: ModelSourceMetadata }> {
  const model = options.model as (HookedModelLike & { hookPoint?: (name: string) => unknown }) | undefined;
  if (!model || typeof model.runWithHooks !== 'function') {
    throw new ValueError('no model to read activations from', { op: 'sdl', arg: '--model', expected: 'a model folder, run directory or checkpoint folder when source=model', given: options.modelPath || 'nothing' });
  }
  if (!options.hook) {
    throw new ValueError('no hook given', { op: 'sdl', arg: '--hook', expected: 'a hook name of the model, e.g. blocks.0.hook_resid_post', given: '""' });
  }
  model.hookPoint?.(options.hook);
  const { tokens, excludeFirstPosition, metadata } = await tokenDataset(options);
  return { store: await ActivationStore.create({ model, hookName: options.hook, tokens, excludeFirstPosition, seed: options.seed }), metadata };
}

/** `openModelSource`'s store alone. */
export async function modelSource(options: ModelSourceOptions): Promise<ActivationStore> {
  return (await openModelSource(options)).store;
}
