import type { ForwardHook, HookFilter, HookedTransformer } from '@glassbox/model';
import { type Tensor, mul, noGrad, stack, sub } from '@glassbox/tensor';
import { type PatchDirection, type PatchingOptions, type PatchingResult, assemble, runsFor } from './activation-patching.ts';
import type { AttributionMetric } from './metrics.ts';
import { PassCounter, cacheActivations, metricValue, tapedRun } from './model-runs.ts';
import { type NodeSpec, hookFor, presetSpecs, reduceToNodes } from './patching-presets.ts';
import { type PromptPairs, checkPairs } from './prompt-pairs.ts';

/** The pieces AtP and AtP* share: source and base activations, and the metric's gradient at the base run. */
export interface AttributionRuns {
  readonly direction: PatchDirection;
  readonly specs: NodeSpec[];
  readonly every: boolean;
  readonly pos: number;
  /** Activations of the source run (clean when denoising), detached. */
  readonly source: Map<string, Tensor>;
  /** Activations of the base run (corrupted when denoising), on the tape. */
  readonly base: Map<string, Tensor>;
  /** ∂M/∂activation at the base run. */
  readonly grads: Map<string, Tensor>;
  readonly baseMetric: number;
  readonly sourceMetric: number;
  readonly counter: PassCounter;
  /** Another backward pass over the same forward pass, refreshing `grads` (GradDrop uses it). */
  backwardAgain(): void;
}

/**
 * Two forward passes and one backward pass: the source run's activations, and the base run's with
 * the metric's gradient. `extraHooks` adds hook names both runs record (AtP* needs the patterns').
 */
export function attributionRuns(
  model: HookedTransformer,
  pairs: PromptPairs,
  metric: AttributionMetric,
  options: PatchingOptions & { extraHooks?: readonly string[]; fwdHooks?: ReadonlyArray<readonly [HookFilter, ForwardHook]> },
  op: string,
): AttributionRuns {
  const { pos } = checkPairs(op, pairs);
  const direction = options.direction ?? 'denoising';
  const counter = options.counter ?? new PassCounter();
  const { specs, every } = presetSpecs(model, options.preset, op);
  const { base, source } = runsFor(pairs, direction);
  const names = [...new Set([...specs.flatMap((s) => Array.from({ length: model.cfg.nLayers }, (_, l) => hookFor(s.kind, l))), ...(options.extraHooks ?? [])])];
  const src = cacheActivations(model, source, names, { counter });
  const run = tapedRun(model, base, names, { counter, fwdHooks: options.fwdHooks });
  const value = metric(run.logits);
  run.backward(value);
  return {
    direction,
    specs,
    every,
    pos,
    source: src.acts,
    base: run.acts,
    grads: run.grads,
    baseMetric: value.item(),
    sourceMetric: metricValue(metric, src.logits),
    counter,
    backwardAgain: () => run.backward(value),
  };
}

/** (source − base) ⊙ ∂M/∂activation summed into one layer's nodes, for one spec. */
export function linearEstimate(runs: AttributionRuns, s: NodeSpec, layer: number): Tensor {
  const hook = hookFor(s.kind, layer);
  return noGrad(() => {
    const delta = sub(runs.source.get(hook)!, runs.base.get(hook)!.detach());
    return reduceToNodes(s, mul(delta, runs.grads.get(hook)!));
  });
}

/**
 * Attribution patching (AtP, Nanda 2023): ĉ(n) = (n(source) − n(base)) · ∂M/∂n at the base run,
 * summed over the node's positions and features and averaged over the batch (the metric is a batch
 * mean). Denoising: source clean, base corrupted; noising: source corrupted, base clean. It estimates
 * the activationPatching effect of every node of the preset with 2 forward and 1 backward passes.
 */
export function attributionPatching(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: PatchingOptions): PatchingResult {
  const runs = attributionRuns(model, pairs, metric, options, 'attributionPatching');
  const grids = runs.specs.map((s) => stack(Array.from({ length: model.cfg.nLayers }, (_, l) => linearEstimate(runs, s, l)), 0));
  return attributionResult(model, runs, grids, options.preset);
}

/** Per-spec score grids [layer, ...] as a labelled result, with the runs' metrics and pass count. */
export function attributionResult(model: HookedTransformer, runs: AttributionRuns, grids: Tensor[], preset: PatchingOptions['preset']): PatchingResult {
  return {
    ...assemble(model, runs.specs, runs.every, runs.pos, grids),
    preset,
    direction: runs.direction,
    baseMetric: runs.baseMetric,
    sourceMetric: runs.sourceMetric,
    cost: runs.counter.snapshot(),
  };
}
