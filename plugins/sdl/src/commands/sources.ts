import type { Tokenizer } from '@glassbox/core';
import { ValueError, loadTensors } from '@glassbox/tensor';
import { SparseFeatureData } from '../synthetic/sparse-features.ts';
import { type ActivationSource, tensorSource } from '../train/activation-source.ts';
import { type ModelSourceMetadata, openModelSource } from './model-source.ts';

/** Options shared by the commands for where activations come from. */
export const SOURCE_OPTIONS = {
  source: {
    type: 'enum',
    default: 'synthetic',
    choices: ['synthetic', 'activations', 'model'] as const,
    description: "where activations come from: the synthetic benchmark, a safetensors file, or a model's hook streamed over tokens",
  },
  activations: { type: 'string', default: '', description: 'safetensors file holding an [n, d_in] activations tensor (source=activations)' },
  activationsTensor: { type: 'string', default: 'activations', description: 'name of the tensor in that file' },
  model: { type: 'string', default: '', description: 'model folder, run directory or checkpoint folder whose --hook is read (source=model)' },
  tokens: {
    type: 'string',
    default: '',
    description: "safetensors file holding an int32 [n, seq] token tensor (source=model); default: an organism's own training language",
  },
  tokensTensor: { type: 'string', default: 'tokens', description: 'name of the tensor in the tokens file' },
  text: {
    type: 'string',
    default: '',
    description: "UTF-8 text file, tokenized with the model's tokenizer into sequences that start with BOS (source=model; instead of --tokens)",
  },
  contextSize: { type: 'integer', default: 0, min: 0, description: 'tokens per --text sequence, BOS included; 0 means min(model nCtx, 128)' },
  syntheticDIn: { type: 'integer', default: 256, min: 1, description: 'synthetic: activation width' },
  syntheticFeatures: { type: 'integer', default: 512, min: 1, description: 'synthetic: ground-truth features' },
  syntheticActive: { type: 'number', default: 5, min: 0, description: 'synthetic: mean active features per sample' },
  syntheticSeed: { type: 'integer', default: 0, min: 0, description: 'synthetic: seed of the ground truth and the samples (the same in train-sae and eval-sae)' },
} as const;

export interface SourceOptionValues {
  source: 'synthetic' | 'activations' | 'model';
  activations: string;
  activationsTensor: string;
  model: string;
  tokens: string;
  tokensTensor: string;
  text: string;
  contextSize: number;
  syntheticDIn: number;
  syntheticFeatures: number;
  syntheticActive: number;
  syntheticSeed: number;
}

export interface OpenedSource {
  source: ActivationSource;
  /** The synthetic source's ground truth, else null. */
  synthetic: SparseFeatureData | null;
  /** For source=model, what the activations were read over (SAELens metadata); else empty. */
  metadata: ModelSourceMetadata;
}

/**
 * Builds the source the options name (`seed` shuffles a file's rows, or picks a model's token
 * batches); the synthetic one also returns its ground truth. source=model reads `hook` of `model`,
 * the model the CLI loaded from `--model`, over tokens or over text read with its `tokenizer`.
 */
export async function openSource(options: SourceOptionValues, seed: number, from: { model?: unknown; hook?: string; tokenizer?: Tokenizer } = {}): Promise<OpenedSource> {
  if (options.source === 'synthetic') {
    const synthetic = new SparseFeatureData({ dIn: options.syntheticDIn, numFeatures: options.syntheticFeatures, meanActive: options.syntheticActive, seed: options.syntheticSeed });
    return { source: synthetic, synthetic, metadata: {} };
  }
  if (options.source === 'model') {
    const { store, metadata } = await openModelSource({
      model: from.model,
      modelPath: options.model,
      hook: from.hook ?? '',
      tokens: options.tokens,
      tokensTensor: options.tokensTensor,
      text: options.text,
      contextSize: options.contextSize,
      ...(from.tokenizer ? { tokenizer: from.tokenizer } : {}),
      seed,
    });
    return { source: store, synthetic: null, metadata };
  }
  if (!options.activations) {
    throw new ValueError('no activations file given', { op: 'sdl', arg: 'activations', expected: 'a safetensors file path when source=activations', given: '""' });
  }
  const tensors = await loadTensors(options.activations, [options.activationsTensor]);
  return { source: tensorSource(tensors[options.activationsTensor]!, { seed }), synthetic: null, metadata: {} };
}
