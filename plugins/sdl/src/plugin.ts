import { type Plugin, definePlugin } from '@glassbox/core';
import { evalSaeCommand } from './commands/eval-sae.ts';
import { TRAIN_SAE_OPTIONS, trainSaeCommand } from './commands/train-sae.ts';
import { downstreamMetrics } from './eval/downstream.ts';
import { evaluateDictionary } from './eval/metrics.ts';
import { modelTopExamples } from './eval/model-examples.ts';
import { latentLogitEffects, topActivatingExamples } from './eval/top-examples.ts';
import { loadSae } from './formats/load.ts';
import { loadSaeLens, saveSaeLens } from './formats/saelens.ts';
import { loadSparsify } from './formats/sparsify.ts';
import { saeConfig } from './sae/config.ts';
import { ActivationStore } from './store/activation-store.ts';
import { createSae } from './sae/create.ts';
import { SparseFeatureData, mmcs } from './synthetic/sparse-features.ts';
import { trainSaes } from './train/trainer.ts';

/** The plugin's typed library: everything the commands use, for programs and other apps. */
export const sdlLibrary = {
  saeConfig,
  createSae,
  trainSaes,
  loadSae,
  loadSaeLens,
  loadSparsify,
  saveSaeLens,
  evaluateDictionary,
  downstreamMetrics,
  ActivationStore,
  topActivatingExamples,
  modelTopExamples,
  latentLogitEffects,
  SparseFeatureData,
  mmcs,
} as const;

export type SdlPlugin = Plugin<typeof TRAIN_SAE_OPTIONS> & { readonly library: typeof sdlLibrary };

/**
 * The sparse dictionary learning plugin, as a plain value: pass it to the CLI or the web app with
 * the other plugins. Nothing is registered on import. Its main run is `train-sae`.
 */
export function sdlPlugin(): SdlPlugin {
  const plugin = definePlugin({
    name: 'sdl',
    description: 'sparse dictionary learning: train, evaluate, load and save sparse autoencoders',
    options: TRAIN_SAE_OPTIONS,
    commands: [trainSaeCommand, evalSaeCommand],
    run: (ctx, options) => trainSaeCommand.run(ctx, options),
  });
  return { ...plugin, library: sdlLibrary };
}
