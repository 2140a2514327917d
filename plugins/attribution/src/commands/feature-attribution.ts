import type { RunContext, RunResult } from '@glassbox/core';
import { type Dictionary, HookNameError, type HookedTransformer, hookShape, hookTemplate, saeHookName, withDictionaries } from '@glassbox/model';
import { ShapeError, ValueError, noGrad, tensor, where } from '@glassbox/tensor';
import { runsFor } from '../activation-patching.ts';
import { type FeaturePatchingResult, featureAttribution } from '../feature-nodes.ts';
import { type LabelledEntry, labelledToJSON, topEntries } from '../labelled-tensor.ts';
import type { AttributionMetric } from '../metrics.ts';
import { type PassCount, PassCounter, cacheActivations, metricValue } from '../model-runs.ts';
import type { PromptPairs } from '../prompt-pairs.ts';
import { pearson } from '../stats.ts';

/**
 * Loads a dictionary folder (an SAE, a transcoder) for `attribute --sae`. The app injects one, such
 * as the SDL plugin's `loadSae`, since a plugin does not import another plugin.
 */
export type DictionaryLoader = (path: string) => Promise<Dictionary>;

/** `--sae` was given to an attribution plugin built without a dictionary loader. */
export class NoDictionaryLoaderError extends ValueError {}

/** Options of `attribute` that apply to feature nodes. */
export const FEATURE_OPTIONS = {
  sae: {
    type: 'string',
    default: '',
    description: 'comma-separated SAE folders to splice in: their latents (and with --include-error their error terms) become the nodes, scored with AtP',
  },
  includeError: { type: 'boolean', default: false, description: "with --sae: splice each SAE with its error term, so the model's output is unchanged, and score the error as a node" },
  granularity: { type: 'enum', default: 'pos', choices: ['pos', 'all_pos'], description: 'with --sae: one node per latent and position, or per latent over all positions' },
  top: { type: 'integer', default: 20, min: 1, description: 'with --sae: how many of the strongest nodes to list, and with --compare to patch' },
} as const;

/** Width of a hook's activation as a splice reads it: every axis after [batch, pos], flattened. */
function hookWidth(model: HookedTransformer, hook: string): number | undefined {
  if (hookTemplate(hook) === undefined) return undefined;
  return hookShape(hook, model.cfg, 1, 1)
    .slice(2)
    .reduce((n, d) => n * d, 1);
}

/** Checks that a dictionary's hook exists in the model and has the dictionary's width. */
function checkFits(model: HookedTransformer, dictionary: Dictionary, path: string, op: string): void {
  const sides = [
    { hook: dictionary.hookName, width: dictionary.dIn, what: 'd_in' },
    { hook: dictionary.outHookName, width: dictionary.dOut, what: 'd_out' },
  ];
  for (const { hook, width, what } of sides) {
    try {
      model.hookPoint(hook);
    } catch (error) {
      if (!(error instanceof HookNameError)) throw error;
      throw new HookNameError("the SAE's hook is not in the model", { op, arg: '--sae', expected: "a hook name of the model (the SAE's hook_name)", given: `${JSON.stringify(hook)} from ${path}`, suggestions: error.suggestions });
    }
    const expected = hookWidth(model, hook);
    if (expected !== undefined && expected !== width) {
      throw new ShapeError("the SAE's width does not match its hook", { op, arg: '--sae', expected: `${what} = ${expected}, the width of ${hook} in this model`, given: `${what} = ${width} from ${path}` });
    }
  }
}

/** Loads the comma-separated dictionary folders of `--sae` and checks each against the model. */
export async function loadDictionaries(model: HookedTransformer, spec: string, loader: DictionaryLoader | undefined, op: string): Promise<Array<{ path: string; dictionary: Dictionary }>> {
  const paths = spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (!loader) {
    throw new NoDictionaryLoaderError('this attribution plugin cannot load SAEs', {
      op,
      arg: '--sae',
      expected: 'a plugin built as attributionPlugin({ loadDictionary }), for example with the SDL plugin’s loadSae',
      given: JSON.stringify(spec),
    });
  }
  const loaded = [];
  for (const path of paths) {
    const dictionary = await loader(path);
    checkFits(model, dictionary, path, op);
    loaded.push({ path, dictionary });
  }
  return loaded;
}

/** A node of the feature axis: its dictionary, and a latent index or the error term. */
function parseFeature(label: string, byHook: ReadonlyMap<string, Dictionary>): { dictionary: Dictionary; latent: number | 'error' } {
  const cut = label.lastIndexOf(':');
  const rest = label.slice(cut + 1);
  return { dictionary: byHook.get(label.slice(0, cut))!, latent: rest === 'error' ? 'error' : Number(rest) };
}

/**
 * Activation patching of the given feature nodes only (the strongest by AtP), with the same
 * splice: one forward pass per node, plus the two runs whose activations are patched in.
 */
export function patchFeatureEntries(
  model: HookedTransformer,
  pairs: PromptPairs,
  metric: AttributionMetric,
  dictionaries: readonly Dictionary[],
  result: FeaturePatchingResult,
  nodes: readonly LabelledEntry[],
): { effects: number[]; cost: PassCount } {
  const counter = new PassCounter();
  const { base, source } = runsFor(pairs, result.direction);
  const byHook = new Map(dictionaries.map((d) => [d.outHookName, d]));
  const names = dictionaries.flatMap((d) => [saeHookName(d, 'hook_sae_acts_post'), ...(result.includeError ? [saeHookName(d, 'hook_sae_error')] : [])]);
  return withDictionaries(model, dictionaries, { includeError: result.includeError }, () => {
    const src = cacheActivations(model, source, names, { counter });
    const baseMetric = metricValue(metric, cacheActivations(model, base, [], { counter }).logits);
    const effects = nodes.map((node) => {
      const { dictionary, latent } = parseFeature(node.labels.feature!, byHook);
      const hook = saeHookName(dictionary, latent === 'error' ? 'hook_sae_error' : 'hook_sae_acts_post');
      const from = src.acts.get(hook)!; // [batch, pos, width]
      const [, pos, width] = from.shape as [number, number, number];
      const positions = node.labels.pos === undefined ? Array.from({ length: pos }, (_, q) => q) : [Number(node.labels.pos)];
      const columns = latent === 'error' ? Array.from({ length: width }, (_, k) => k) : [latent];
      const mask = new Int32Array(pos * width);
      for (const q of positions) for (const k of columns) mask[q * width + k] = 1;
      const m = tensor(mask, { shape: [1, pos, width] });
      const logits = noGrad(() => model.withHooks({ fwdHooks: [[hook, (act) => where(m, from, act)]] }, () => model.forward(base)));
      counter.forward++;
      return metricValue(metric, logits) - baseMetric;
    });
    return { effects, cost: counter.snapshot() };
  });
}

/** Scores of random or weak latents can be far below 1e-4, where fixed decimals would print 0. */
function score(value: number): string {
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(2) : value.toFixed(4);
}

function describeNode(node: LabelledEntry): string {
  return node.labels.pos === undefined ? node.labels.feature! : `${node.labels.feature} at pos ${node.labels.pos}`;
}

/** `attribute --sae`: AtP over the latents (and error terms) of spliced dictionaries, with an optional patching check of the strongest. */
export async function attributeFeatures(
  ctx: Pick<RunContext, 'runDir'>,
  model: HookedTransformer,
  task: { pairs: PromptPairs; metric: AttributionMetric },
  loaded: ReadonlyArray<{ path: string; dictionary: Dictionary }>,
  options: { method: string; direction: 'denoising' | 'noising'; includeError: boolean; granularity: 'pos' | 'all_pos'; top: number; compare: boolean },
): Promise<RunResult> {
  if (options.method !== 'atp') {
    throw new ValueError('feature nodes are scored with AtP only', { op: 'attribute', arg: '--method', expected: "'atp' with --sae", given: JSON.stringify(options.method) });
  }
  const dictionaries = loaded.map((l) => l.dictionary);
  const result = await ctx.runDir.time('atp', () =>
    featureAttribution(model, task.pairs, task.metric, { dictionaries, includeError: options.includeError, granularity: options.granularity, direction: options.direction }),
  );
  const strongest = topEntries(result, options.top);
  const patched = options.compare ? await ctx.runDir.time('patch', () => patchFeatureEntries(model, task.pairs, task.metric, dictionaries, result, strongest)) : null;
  // With error nodes, which often carry the most, the latents are also ranked on their own.
  const latentsOnly = result.includeError ? topEntries(result, result.values.size).filter((e) => !e.labels.feature!.endsWith(':error')).slice(0, options.top) : strongest;
  const top = strongest.map((node, i) => ({ ...node.labels, score: node.value, ...(patched ? { patched: patched.effects[i] } : {}) }));
  const comparison = patched ? { nodes: strongest.length, pearson: pearson(strongest.map((n) => n.value), patched.effects), activationPatchingCost: patched.cost } : null;

  await ctx.runDir.writeTensors('feature-attribution.safetensors', { values: result.values }, { direction: result.direction, axes: result.axes.map((a) => a.name).join(',') });
  const { values, ...rest } = labelledToJSON(result);
  await ctx.runDir.writeJson('feature-attribution.json', {
    method: 'atp',
    direction: result.direction,
    includeError: result.includeError,
    granularity: options.granularity,
    dictionaries: loaded.map(({ path, dictionary: d }) => ({ path, hookName: d.hookName, outHookName: d.outHookName, dIn: d.dIn, dSae: d.dSae, dOut: d.dOut })),
    baseMetric: result.baseMetric,
    sourceMetric: result.sourceMetric,
    cost: result.cost,
    top,
    topLatents: latentsOnly.map((node) => ({ ...node.labels, score: node.value })),
    ...(comparison ? { comparison } : {}),
    ...rest,
    values,
  });

  const latents = dictionaries.reduce((n, d) => n + d.dSae, 0);
  const summary = [
    `atp (${result.direction}) over ${latents} latents of ${dictionaries.length} SAE${dictionaries.length === 1 ? '' : 's'}${result.includeError ? (dictionaries.length === 1 ? ' and its error term' : ' and their error terms') : ''}: ${result.values.size} nodes, ${result.cost.forward} forward and ${result.cost.backward} backward passes`,
    `M(base) = ${result.baseMetric.toFixed(4)}, M(source) = ${result.sourceMetric.toFixed(4)}${result.includeError ? '' : ' (with the reconstructions in place)'}; strongest nodes:`,
    ...strongest.slice(0, 5).map((node, i) => `  ${describeNode(node)}: ${score(node.value)}${patched ? ` (patched ${score(patched.effects[i]!)})` : ''}`),
  ];
  if (result.includeError) summary.push('strongest latents:', ...latentsOnly.slice(0, 5).map((node) => `  ${describeNode(node)}: ${score(node.value)}`));
  if (comparison) summary.push(`activation patching of the top ${comparison.nodes}: ${comparison.activationPatchingCost.forward} forward passes; Pearson r = ${comparison.pearson.toFixed(4)}`);
  return { summary, artifacts: { 'feature-attribution': 'feature-attribution.json', 'feature-attribution-values': 'feature-attribution.safetensors' } };
}
