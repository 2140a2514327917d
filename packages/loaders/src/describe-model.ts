import { HookedTransformer, type TransformerConfig } from '@glassbox/model';
import { Checkpoint } from './checkpoint.ts';

/** What `glassbox info --model <folder>` prints about a checkpoint folder. */
export interface ModelDescription {
  /** The Hugging Face `model_type`: 'gpt2' or 'gpt_neox'. */
  architecture: string;
  /** Distinct weights in the checkpoint, tied ones counted once (GPT-2 small: 124,439,808). */
  parameters: number;
  /** Every hook point of the loaded model, in the order the forward pass reaches them. */
  hookNames: string[];
  config: TransformerConfig;
}

/**
 * Describes a Hugging Face checkpoint folder without reading its weights: only config.json and the
 * safetensors headers are read (and checked, so a folder that would fail to load fails here too).
 */
export async function describeModel(folder: string): Promise<ModelDescription> {
  const checkpoint = await Checkpoint.open(folder);
  try {
    const { config } = checkpoint;
    // Hook names depend on the structure (layers, rotary, parallel, MLP), not on the sizes.
    const skeleton = new HookedTransformer(
      {
        ...config,
        dModel: 2,
        nHeads: 1,
        dHead: 2,
        dMlp: config.dMlp === null ? null : 2,
        dVocab: 2,
        dVocabOut: 2,
        nCtx: 2,
        rotaryDim: config.rotaryDim === null ? null : 2,
        attnScale: 1,
        initRange: 1,
      },
      { init: 'none' },
    );
    return { architecture: checkpoint.architecture.modelType, parameters: checkpoint.parameterCount(), hookNames: skeleton.hookNames(), config };
  } finally {
    await checkpoint.close();
  }
}
