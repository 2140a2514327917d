import { type Dictionary, type HookedTransformer, saeHookName, withDictionaries } from '@glassbox/model';
import { Module, type Tensor, ValueError, concat, mul, noGrad, sub, sum, tensor, where, zerosLike } from '@glassbox/tensor';
import type { PatchDirection } from './activation-patching.ts';
import { runsFor } from './activation-patching.ts';
import { type Axis, type LabelledTensor, indexLabels, labelled } from './labelled-tensor.ts';
import type { AttributionMetric } from './metrics.ts';
import { type PassCount, PassCounter, cacheActivations, metricValue, tapedRun, withFrozen } from './model-runs.ts';
import { type PromptPairs, checkPairs } from './prompt-pairs.ts';

export interface FeatureNodeOptions {
  /** Dictionaries (SAEs, transcoders) to splice in through `@glassbox/model`; their latents are the nodes. */
  dictionaries: readonly Dictionary[];
  /**
   * Splice each dictionary with its error term and make that term a node too (default true): the
   * spliced model then computes what the model computes, and the error nodes carry what the
   * latents miss. Without it the metrics are those of the model with the reconstructions in place.
   */
  includeError?: boolean;
  /** One node per latent and position (`pos`, the default), or per latent over all positions (`all_pos`). */
  granularity?: 'pos' | 'all_pos';
  /** Default 'denoising'. */
  direction?: PatchDirection;
  counter?: PassCounter;
}

/**
 * Effects of the feature nodes, labelled: values [pos, feature] (or [feature] over all positions),
 * where the feature axis lists each dictionary's latents `<outHookName>:<latent>` and then, with the
 * error term, `<outHookName>:error`, dictionary after dictionary. The metrics are the spliced
 * model's.
 */
export interface FeaturePatchingResult extends LabelledTensor {
  readonly direction: PatchDirection;
  readonly includeError: boolean;
  readonly baseMetric: number;
  readonly sourceMetric: number;
  readonly cost: PassCount;
}

/** One dictionary's node sites: the latents' hook and the error's (null without the error term). */
interface Sites {
  readonly dictionary: Dictionary;
  readonly latents: string; // hook_sae_acts_post [batch, pos, d_sae]
  readonly error: string | null; // hook_sae_error [batch, pos, d_out]
}

interface Setup {
  readonly op: string;
  readonly pos: number;
  readonly direction: PatchDirection;
  readonly includeError: boolean;
  readonly allPos: boolean;
  readonly counter: PassCounter;
  readonly sites: Sites[];
  readonly names: string[];
  readonly axes: Axis[];
}

function setup(pairs: PromptPairs, options: FeatureNodeOptions, op: string): Setup {
  const { pos } = checkPairs(op, pairs);
  if (options.dictionaries.length === 0) throw new ValueError('no dictionaries to take nodes from', { op, arg: 'dictionaries', expected: 'at least one Dictionary', given: '[]' });
  const granularity = options.granularity ?? 'pos';
  if (granularity !== 'pos' && granularity !== 'all_pos') {
    throw new ValueError('unknown granularity', { op, arg: 'granularity', expected: "'pos' or 'all_pos'", given: JSON.stringify(granularity) });
  }
  const includeError = options.includeError ?? true;
  const sites = options.dictionaries.map((d) => ({ dictionary: d, latents: saeHookName(d, 'hook_sae_acts_post'), error: includeError ? saeHookName(d, 'hook_sae_error') : null }));
  const labels = sites.flatMap((s) => [...indexLabels(s.dictionary.dSae).map((j) => `${s.dictionary.outHookName}:${j}`), ...(s.error ? [`${s.dictionary.outHookName}:error`] : [])]);
  const feature = { name: 'feature', labels };
  const allPos = granularity === 'all_pos';
  return {
    op,
    pos,
    direction: options.direction ?? 'denoising',
    includeError,
    allPos,
    counter: options.counter ?? new PassCounter(),
    sites,
    names: sites.flatMap((s) => (s.error ? [s.latents, s.error] : [s.latents])),
    axes: allPos ? [feature] : [{ name: 'pos', labels: indexLabels(pos) }, feature],
  };
}

/** [pos, n] or [n] per dictionary's latents and error, concatenated along the feature axis. */
function assembleFeatures(s: Setup, parts: Tensor[]): Tensor {
  return concat(parts, s.allPos ? 0 : 1);
}

/**
 * Activation patching of dictionary latents and error terms, the ground truth: with the
 * dictionaries spliced in, one forward pass per node over the whole batch, with the node (one
 * latent, or one error vector, at one position or at all) replaced by the source run's. A node whose
 * source and base values are equal has effect 0 and costs no pass.
 */
export function featurePatching(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: FeatureNodeOptions): FeaturePatchingResult {
  const s = setup(pairs, options, 'featurePatching');
  const { base, source } = runsFor(pairs, s.direction);
  return withDictionaries(model, options.dictionaries, { includeError: s.includeError }, () => {
    const src = cacheActivations(model, source, s.names, { counter: s.counter });
    const baseRun = cacheActivations(model, base, s.names, { counter: s.counter });
    const baseMetric = metricValue(metric, baseRun.logits);
    const sourceMetric = metricValue(metric, src.logits);
    const patched = (hook: string, mask: Tensor): number => {
      const from = src.acts.get(hook)!;
      const logits = noGrad(() => model.withHooks({ fwdHooks: [[hook, (act) => where(mask, from, act)]] }, () => model.forward(base)));
      s.counter.forward++;
      return metricValue(metric, logits) - baseMetric;
    };
    const parts: Tensor[] = [];
    for (const site of s.sites) {
      parts.push(patchSite(s, site.latents, site.dictionary.dSae, false, src.acts.get(site.latents)!, baseRun.acts.get(site.latents)!, patched));
      if (site.error) parts.push(patchSite(s, site.error, site.dictionary.dOut, true, src.acts.get(site.error)!, baseRun.acts.get(site.error)!, patched));
    }
    return { ...labelled(assembleFeatures(s, parts), s.axes), direction: s.direction, includeError: s.includeError, baseMetric, sourceMetric, cost: s.counter.snapshot() };
  });
}

/**
 * Effects of the nodes at one site [batch, pos, width]: one node per (position,) latent, or one per
 * (position,) whole error vector. Returns [pos, n] or [n].
 */
function patchSite(s: Setup, hook: string, width: number, whole: boolean, from: Tensor, to: Tensor, patched: (hook: string, mask: Tensor) => number): Tensor {
  const [batch, pos] = from.shape as [number, number, number];
  const a = from.data();
  const b = to.data();
  const n = whole ? 1 : width;
  const cells = s.allPos ? [Array.from({ length: pos }, (_, q) => q)] : Array.from({ length: pos }, (_, p) => [p]);
  const effects = new Float32Array(cells.length * n);
  cells.forEach((qs, c) => {
    for (let j = 0; j < n; j++) {
      const ks = whole ? Array.from({ length: width }, (_, k) => k) : [j];
      const differs = qs.some((q) => ks.some((k) => Array.from({ length: batch }, (_, r) => (r * pos + q) * width + k).some((i) => a[i] !== b[i])));
      if (!differs) continue;
      const m = new Int32Array(pos * width);
      for (const q of qs) for (const k of ks) m[q * width + k] = 1;
      effects[c * n + j] = patched(hook, tensor(m, { shape: [1, pos, width] }));
    }
  });
  return tensor(effects, { shape: s.allPos ? [n] : [pos, n] });
}

/**
 * Attribution patching (AtP) of dictionary latents and error terms: with the dictionaries spliced in,
 * ĉ(n) = (n(source) − n(base)) · ∂M/∂n at the base run, summed over the node's entries and the batch,
 * from 2 forward passes and 1 backward pass. The error term is a constant of the latents, as in
 * SAELens, so a latent's gradient flows only through the reconstruction; an error node's gradient
 * is that of the spliced activation.
 */
export function featureAttribution(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: FeatureNodeOptions): FeaturePatchingResult {
  const s = setup(pairs, options, 'featureAttribution');
  const { base, source } = runsFor(pairs, s.direction);
  const splice = { includeError: s.includeError };
  // Dictionaries that are Modules are frozen too, so AtP's backward pass leaves their `.grad` alone.
  const dictionaryParams = options.dictionaries.flatMap((d) => (d instanceof Module ? d.parameters() : []));
  return withFrozen(dictionaryParams, () => withDictionaries(model, options.dictionaries, splice, () => attributeSpliced(model, s, base, source, metric)));
}

/** AtP's two forward passes and one backward pass, with the dictionaries already spliced in. */
function attributeSpliced(model: HookedTransformer, s: Setup, base: Tensor, source: Tensor, metric: AttributionMetric): FeaturePatchingResult {
  const src = cacheActivations(model, source, s.names, { counter: s.counter });
  const run = tapedRun(model, base, s.names, { counter: s.counter });
  const value = metric(run.logits);
  run.backward(value);
  const estimate = (hook: string, whole: boolean): Tensor => {
    const baseAct = run.acts.get(hook)!.detach();
    const product = mul(sub(src.acts.get(hook)!, baseAct), run.grads.get(hook) ?? zerosLike(baseAct)); // [batch, pos, width]
    if (s.allPos) return whole ? sum(product).reshape([1]) : sum(product, [0, 1]); // [1] | [width]
    return whole ? sum(product, [0, 2]).reshape([-1, 1]) : sum(product, 0); // [pos, 1] | [pos, width]
  };
  const parts = noGrad(() => s.sites.flatMap((site) => (site.error ? [estimate(site.latents, false), estimate(site.error, true)] : [estimate(site.latents, false)])));
  return {
    ...labelled(assembleFeatures(s, parts), s.axes),
    direction: s.direction,
    includeError: s.includeError,
    baseMetric: value.item(),
    sourceMetric: metricValue(metric, src.logits),
    cost: s.counter.snapshot(),
  };
}
