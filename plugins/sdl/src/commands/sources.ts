import { ValueError, loadTensors } from '@glassbox/tensor';
import { SparseFeatureData } from '../synthetic/sparse-features.ts';
import { type ActivationSource, tensorSource } from '../train/activation-source.ts';

/** Options shared by the commands for where activations come from. */
export const SOURCE_OPTIONS = {
  source: { type: 'enum', default: 'synthetic', choices: ['synthetic', 'activations'] as const, description: 'where activations come from: the synthetic benchmark or a safetensors file' },
  activations: { type: 'string', default: '', description: 'safetensors file holding an [n, d_in] activations tensor (source=activations)' },
  activationsTensor: { type: 'string', default: 'activations', description: 'name of the tensor in that file' },
  syntheticDIn: { type: 'integer', default: 256, min: 1, description: 'synthetic: activation width' },
  syntheticFeatures: { type: 'integer', default: 512, min: 1, description: 'synthetic: ground-truth features' },
  syntheticActive: { type: 'number', default: 5, min: 0, description: 'synthetic: mean active features per sample' },
  syntheticSeed: { type: 'integer', default: 0, min: 0, description: 'synthetic: seed of the ground truth and the samples (the same in train-sae and eval-sae)' },
} as const;

export interface SourceOptionValues {
  source: 'synthetic' | 'activations';
  activations: string;
  activationsTensor: string;
  syntheticDIn: number;
  syntheticFeatures: number;
  syntheticActive: number;
  syntheticSeed: number;
}

/** Builds the source the options name (`seed` shuffles a file's rows); the synthetic one also returns its ground truth. */
export async function openSource(options: SourceOptionValues, seed: number): Promise<{ source: ActivationSource; synthetic: SparseFeatureData | null }> {
  if (options.source === 'synthetic') {
    const synthetic = new SparseFeatureData({ dIn: options.syntheticDIn, numFeatures: options.syntheticFeatures, meanActive: options.syntheticActive, seed: options.syntheticSeed });
    return { source: synthetic, synthetic };
  }
  if (!options.activations) {
    throw new ValueError('no activations file given', { op: 'sdl', arg: 'activations', expected: 'a safetensors file path when source=activations', given: '""' });
  }
  const tensors = await loadTensors(options.activations, [options.activationsTensor]);
  return { source: tensorSource(tensors[options.activationsTensor]!, { seed }), synthetic: null };
}
