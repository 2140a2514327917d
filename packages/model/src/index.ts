export {
  ACT_FNS,
  type ActFn,
  ConfigError,
  configFromJSON,
  configToJSON,
  NORMALIZATION_TYPES,
  type NormalizationType,
  POSITIONAL_EMBEDDING_TYPES,
  type PositionalEmbeddingType,
  type TransformerConfig,
  type TransformerConfigInput,
  transformerConfig,
} from './config.ts';
export { type BackwardHook, type ForwardHook, type HookDirection, HookPoint } from './hook-point.ts';
export { actName, HOOK_SHAPES, HookNameError, type HookTemplate, hookShape, hookTemplate } from './hook-names.ts';
export {
  type HookFilter,
  type HookSpec,
  HookedTransformer,
  type Metric,
  type RunWithCacheOptions,
  type RunWithHooksOptions,
  type TokensLike,
} from './hooked-transformer.ts';
export { ActivationCache, type LabelledStack } from './activation-cache.ts';
export { lmLoss } from './loss.ts';
export { Attention } from './components/attention.ts';
export { TransformerBlock } from './components/block.ts';
export { Embed } from './components/embed.ts';
export { LayerNorm } from './components/layer-norm.ts';
export { ACTIVATIONS, MLP } from './components/mlp.ts';
export { makeNorm, type Norm } from './components/norm.ts';
export { PosEmbed } from './components/pos-embed.ts';
export { RMSNorm } from './components/rms-norm.ts';
export { Rotary } from './components/rotary.ts';
export { Unembed } from './components/unembed.ts';
export {
  centerUnembed,
  centerWritingWeights,
  foldLayerNorm,
  foldValueBiases,
  type ModelWeights,
  type ProcessWeightsOptions,
  processWeights,
} from './weight-processing.ts';
export { type TrainerOptions, type TrainProgress, type TrainResult, Trainer } from './train/trainer.ts';
export { type CheckpointScheduleOptions, checkpointSchedule } from './train/checkpoint-schedule.ts';
export { type Checkpoint, checkpointName, latestCheckpoint, listCheckpoints, loadCheckpoint, saveCheckpoint } from './train/checkpoint.ts';
export {
  BOS,
  type InductionLanguageOptions,
  InductionLanguage,
  type InductionOrganismOptions,
  type InductionReport,
  inductionModelConfig,
  inductionReport,
  repeatedRandomTokens,
  type TrainInductionOptions,
  trainInduction,
} from './organisms/induction.ts';
export {
  featureDimensionality,
  featureNorms,
  ToySuperposition,
  type ToySuperpositionConfig,
  type TrainToySuperpositionOptions,
  trainToySuperposition,
} from './organisms/toy-superposition.ts';
export {
  type ModularAdditionData,
  modularAdditionConfig,
  modularAdditionData,
  type TrainModularAdditionOptions,
  trainModularAddition,
} from './organisms/modular-addition.ts';
export { type BalancedParensData, balancedParensConfig, balancedParensData, isBalanced, PARENS, parensText } from './organisms/balanced-parens.ts';
export { lastLogits, lastTokenAccuracy, lastTokenLoss } from './organisms/classification.ts';
export { type Dictionary, reconstruct, SAE_HOOK_SHAPES, type SaeHookPoint, saeHookName } from './dictionary/dictionary.ts';
export { type SpliceOptions, spliceDictionaries, withDictionaries } from './dictionary/splice.ts';
export { type GrokkingSteps, grokkingSteps, type ModularAdditionEval } from './organisms/modular-addition.ts';
export { type TrainBalancedParensOptions, trainBalancedParens } from './organisms/balanced-parens.ts';
export { lastTokenMetrics } from './organisms/classification.ts';
export type { HookedTransformerOptions, InitMode } from './hooked-transformer.ts';
