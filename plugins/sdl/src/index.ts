export { ARCHITECTURES, NORMALIZATIONS, defaultMatryoshkaWidths, needsK, saeConfig, validateSaeConfig } from './sae/config.ts';
export type { ActivationNormalization, Architecture, DecoderNorm, SaeConfig } from './sae/config.ts';
export { DEFAULT_STEP_CONTEXT, SparseAutoencoder, asRows } from './sae/sparse-autoencoder.ts';
export type { SaeInitOptions, StepContext, StepOutput } from './sae/sparse-autoencoder.ts';
export { StandardSae } from './sae/standard.ts';
export { TopKSae } from './sae/topk.ts';
export { BatchTopKSae } from './sae/batch-topk.ts';
export { JumpReluSae, straightThrough } from './sae/jump-relu.ts';
export { GatedSae } from './sae/gated.ts';
export { MatryoshkaBatchTopKSae } from './sae/matryoshka-batch-topk.ts';
export { createSae, defaultDecoderNorm } from './sae/create.ts';

export { customOp } from './sparse/custom-op.ts';
export { latentCounts, nnz, selectAbove, selectBatchTopK, selectTopK } from './sparse/selection.ts';
export type { SparseSelection } from './sparse/selection.ts';
export { sparseAffine, sparseDecode, sparseToDense } from './sparse/sparse-ops.ts';

export { tensorSource } from './train/activation-source.ts';
export type { ActivationSource, Json } from './train/activation-source.ts';
export { formatProgress, trainSaes } from './train/trainer.ts';
export type { RunMetrics, TrainOptions, TrainProgress, TrainResult, TrainRunSpec, TrainedRun } from './train/trainer.ts';
export { lrSchedule, sparsityCoefficientAt } from './train/schedule.ts';
export { geometricMedian } from './train/geometric-median.ts';
export { DeadLatentTracker, resampleDeadLatents } from './train/dead-latents.ts';

export { SaeFormatError } from './formats/format-error.ts';
export { loadSaeLens, parseSaeLensConfig, saveSaeLens, toSaeLensConfig } from './formats/saelens.ts';
export type { LoadSaeLensOptions } from './formats/saelens.ts';
export { loadSparsify } from './formats/sparsify.ts';
export type { LoadSparsifyOptions } from './formats/sparsify.ts';
export { detectSaeFormat, loadSae } from './formats/load.ts';
export { hookNameFromModulePath } from './formats/hook-names.ts';

export { MetricsAccumulator, evaluateDictionary } from './eval/metrics.ts';
export type { DensityHistogram, MetricsOptions, ReconstructionMetrics } from './eval/metrics.ts';
export { TopExamplesCollector, latentLogitEffects, topActivatingExamples } from './eval/top-examples.ts';
export type { ActivatingExample, LatentExamples, TopExamplesOptions } from './eval/top-examples.ts';

export { ActivationStore } from './store/activation-store.ts';
export type { ActivationStoreOptions, TokenDataset } from './store/activation-store.ts';
export { captureActivation } from './store/hooked-model.ts';
export type { ForwardHookFn, HookedModelLike } from './store/hooked-model.ts';
export { downstreamMetrics } from './eval/downstream.ts';
export { modelTopExamples } from './eval/model-examples.ts';
export type { ModelExamplesOptions, TokenContext } from './eval/model-examples.ts';
export type { DownstreamMetrics } from './eval/downstream.ts';

export { SparseFeatureData, mmcs } from './synthetic/sparse-features.ts';
export type { SparseFeatureOptions } from './synthetic/sparse-features.ts';

export { sdlLibrary, sdlPlugin } from './plugin.ts';
export type { SdlPlugin } from './plugin.ts';
export { trainSaeCommand } from './commands/train-sae.ts';
export { evalSaeCommand } from './commands/eval-sae.ts';
