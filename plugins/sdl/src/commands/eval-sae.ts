import { type RunContext, type RunResult, defineCommand } from '@glassbox/core';
import { ShapeError } from '@glassbox/tensor';
import { evaluateDictionary } from '../eval/metrics.ts';
import { loadSae } from '../formats/load.ts';
import { mmcs } from '../synthetic/sparse-features.ts';
import { SOURCE_OPTIONS, openSource } from './sources.ts';

export const EVAL_SAE_OPTIONS = {
  sae: { type: 'string', default: '', description: 'SAE folder (SAELens or sparsify)' },
  batches: { type: 'integer', default: 16, min: 1, description: 'batches to evaluate on' },
  batchSize: { type: 'integer', default: 1024, min: 1, description: 'activations per batch' },
  denseThreshold: { type: 'number', default: 0.1, min: 0, max: 1, description: 'a latent firing on more than this fraction of tokens is dense' },
  hook: { type: 'string', default: '', description: "hook of --model to read with source=model; default: the SAE's hook_name" },
  ...SOURCE_OPTIONS,
} as const;

/** `glassbox eval-sae`: reconstruction, sparsity and latent-health metrics of a saved SAE, written to eval.json. */
export const evalSaeCommand = defineCommand({
  name: 'eval-sae',
  description: "evaluate a saved SAE (L0, MSE, FVU, cosine, dead and dense latents, density histogram) on synthetic data, an activations file or a model's hook",
  options: EVAL_SAE_OPTIONS,
  async run(ctx: RunContext, options): Promise<RunResult> {
    const sae = await loadSae(options.sae);
    const { source, synthetic } = await openSource({ ...options, syntheticDIn: options.source === 'synthetic' ? sae.dIn : options.syntheticDIn }, ctx.rng.randint(0, 2 ** 31 - 1), {
      model: ctx.model,
      hook: options.hook || sae.hookName,
      ...(ctx.tokenizer ? { tokenizer: ctx.tokenizer } : {}),
    });
    if (source.dIn !== sae.dIn) {
      throw new ShapeError('the activations do not fit the SAE', { op: 'eval-sae', arg: options.source === 'model' ? '--hook' : '--activations', expected: `width d_in = ${sae.dIn}`, given: String(source.dIn) });
    }
    async function* batches() {
      for (let i = 0; i < options.batches; i++) yield await source.next(options.batchSize);
    }
    const metrics = await evaluateDictionary(sae, batches(), { denseThreshold: options.denseThreshold });
    const score = synthetic ? mmcs(synthetic.features, sae.W_dec.data() as Float32Array, sae.dIn) : null;
    const { featureDensity, ...rest } = metrics;
    await ctx.runDir.writeJson('eval.json', { ...rest, ...(score === null ? {} : { mmcs: score }), featureDensity: Array.from(featureDensity) });
    return {
      summary: [
        `L0 ${metrics.l0.toFixed(2)}  MSE ${metrics.mse.toExponential(3)}  explained variance ${metrics.explainedVariance.toFixed(4)}  cosine ${metrics.cosineSimilarity.toFixed(4)}`,
        `dead ${(100 * metrics.deadFraction).toFixed(1)}%  dense ${(100 * metrics.denseFraction).toFixed(1)}%  l2 ratio ${metrics.l2Ratio.toFixed(3)}  shrinkage γ ${metrics.relativeReconstructionBias.toFixed(3)}${score === null ? '' : `  MMCS ${score.toFixed(4)}`}`,
      ],
      artifacts: { eval: 'eval.json' },
    };
  },
});
