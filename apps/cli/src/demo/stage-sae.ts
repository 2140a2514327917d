import { join } from 'node:path';
import type { ProgressReporter } from '@glassbox/core';
import { BOS, type HookedTransformer, InductionLanguage } from '@glassbox/model';
import {
  ActivationStore,
  type DownstreamMetrics,
  type LatentExamples,
  type ReconstructionMetrics,
  type TokenContext,
  captureActivation,
  downstreamMetrics,
  evaluateDictionary,
  modelTopExamples,
  saeConfig,
  saveSaeLens,
  trainSaes,
} from '@glassbox/plugin-sdl';
import { Generator, noGrad } from '@glassbox/tensor';
import { DEMO_ORGANISM, DEMO_SAE } from './demo-config.ts';

export interface SaeStage {
  folder: string;
  metrics: ReconstructionMetrics;
  downstream: DownstreamMetrics;
  /** The most frequently firing latents with their max-activating contexts. */
  topLatents: LatentExamples<TokenContext>[];
}

/** Trains a TopK SAE on `blocks.1.hook_resid_pre` of the organism and evaluates it, as SAELens would report. */
export async function saeStage(options: { runPath: string; model: HookedTransformer; seed: number; progress: ProgressReporter; signal: AbortSignal }): Promise<SaeStage> {
  const language = new InductionLanguage({ ...DEMO_ORGANISM.language, dVocab: DEMO_ORGANISM.dVocab, seqLen: DEMO_ORGANISM.nCtx, maxPrefix: 0, maxGap: 0, seed: options.seed + 1 });
  const store = await ActivationStore.create({
    model: options.model,
    hookName: DEMO_SAE.hookName,
    tokens: (chunk, sequences) => language.batch(Generator.fromSeed(options.seed * 7919 + chunk), sequences),
    excludeFirstPosition: true,
    seed: options.seed,
  });
  options.progress.start('train a TopK SAE', DEMO_SAE.steps, { unit: 'step' });
  let last = 0;
  const result = await trainSaes({
    source: store,
    runs: [
      {
        name: 'topk',
        sae: saeConfig({ architecture: DEMO_SAE.architecture, dIn: store.dIn, dSae: DEMO_SAE.dSae, k: DEMO_SAE.k, hookName: DEMO_SAE.hookName }),
        seed: options.seed,
        lr: DEMO_SAE.lr,
      },
    ],
    steps: DEMO_SAE.steps,
    batchSize: DEMO_SAE.batchSize,
    checkpoint: { dir: join(options.runPath, 'sae', 'checkpoints'), everySteps: 200 },
    signal: options.signal,
    onProgress: (p) => {
      options.progress.tick(p.step - last, { loss: p.runs[0]?.loss ?? 0, 'tok/s': p.tokensPerSecond });
      last = p.step;
    },
  });
  options.progress.finish();
  const sae = result.runs[0]!.sae;
  const folder = join(options.runPath, 'sae', 'topk');
  await saveSaeLens(sae, folder);

  // Held-out text from a generator the training batches never used.
  const evalTokens = language.batch(Generator.fromSeed(options.seed + 99_991), 64);
  const activations = noGrad(() => captureActivation(options.model, evalTokens, DEMO_SAE.hookName));
  const metrics = await evaluateDictionary(sae, [activations.reshape([-1, store.dIn])]);
  const downstream = downstreamMetrics(options.model, sae, evalTokens);
  const examples = modelTopExamples(options.model, sae, evalTokens, { excludeTokenIds: [BOS], before: 6, after: 1 });
  const topLatents = [...examples].sort((a, b) => b.count - a.count).slice(0, 5);
  return { folder, metrics, downstream, topLatents };
}
