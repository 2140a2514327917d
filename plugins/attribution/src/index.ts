export { type Axis, type LabelledEntry, type LabelledTensor, entries, indexLabels, labelled, labelledToJSON, topEntries } from './labelled-tensor.ts';
export { type PromptPairs, type RepeatedTokenPairsOptions, type ScoredPairs, checkPairs, repeatedTokenPairs } from './prompt-pairs.ts';
export {
  type AnswerMetricOptions,
  type AttributionMetric,
  type KlOptions,
  METRIC_NAMES,
  type MetricName,
  answerLoss,
  klToClean,
  logitDiff,
  metricByName,
  probDiff,
} from './metrics.ts';
export { type PassCount, PassCounter, asHookedTransformer, withFrozenParams } from './model-runs.ts';
export { type Granularity, type NodeKind, type NodeSpec, PATCHING_PRESETS, PRESET_NAMES, type PresetName } from './patching-presets.ts';
export { type PatchDirection, type PatchingOptions, type PatchingResult, activationPatching } from './activation-patching.ts';
export { attributionPatching } from './attribution-patching.ts';
export { type FeatureNodeOptions, type FeaturePatchingResult, featureAttribution, featurePatching } from './feature-nodes.ts';
export { type AtpStarOptions, type AtpStarResult, atpStar } from './atp-star.ts';
export { type DownstreamNode, EdgeGraph, type UpstreamNode } from './edge-graph.ts';
export { type EdgeForwardOptions, type EdgeRun, type UpstreamOverride, edgeForward, edgeProducts, upstreamOutputs } from './edge-forward.ts';
export { type EdgeMethod, type EdgeScores, edgeScore, rankedEdges } from './edge-scores.ts';
export { type EdgeMethodOptions, eap } from './eap.ts';
export { type EapIgOptions, eapIgActivations, eapIgInputs } from './eap-ig.ts';
export {
  type Circuit,
  type SelectionMethod,
  type SelectionOptions,
  circuitNodes,
  circuitSize,
  pruneDangling,
  selectCircuit,
  selectGreedy,
  selectThreshold,
  selectTopN,
} from './circuit-selection.ts';
export { CircuitEvaluator, type CurveOptions, type CurvePoint, type FaithfulnessCurve, defaultSizes, faithfulnessCurve } from './circuit-evaluation.ts';
export { type CircuitGraphEdge, type CircuitGraphJSON, type CircuitGraphNode, circuitGraphJSON } from './circuit-graph.ts';
export { argmax, pearson } from './stats.ts';
export { patchCommand } from './commands/patch-command.ts';
export { attributeCommand, createAttributeCommand } from './commands/attribute-command.ts';
export { type DictionaryLoader, NoDictionaryLoaderError, loadDictionaries } from './commands/feature-attribution.ts';
export { circuitCommand } from './commands/circuit-command.ts';
export { type AttributionPluginOptions, attributionPlugin } from './plugin.ts';
