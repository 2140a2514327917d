import type { HookedTransformer } from '@glassbox/model';
import { type Tensor, concat, noGrad, stack, tensor, where } from '@glassbox/tensor';
import { type LabelledTensor, labelled } from './labelled-tensor.ts';
import type { AttributionMetric } from './metrics.ts';
import { type PassCount, PassCounter, cacheActivations, metricValue } from './model-runs.ts';
import { type NodeSpec, type PresetName, hookFor, nodeIsLive, nodeMask, nodesPerLayer, presetSpecs, specAxes } from './patching-presets.ts';
import { type PromptPairs, checkPairs } from './prompt-pairs.ts';

/**
 * Noising runs the clean prompt and patches in corrupted activations: AP(n) = M(x | n ← n(x̃)) − M(x).
 * Denoising runs the corrupted prompt and patches in clean activations: M(x̃ | n ← n(x)) − M(x̃).
 */
export type PatchDirection = 'denoising' | 'noising';

export interface PatchingOptions {
  preset: PresetName;
  /** Default 'denoising', as TransformerLens's patching functions. */
  direction?: PatchDirection;
  counter?: PassCounter;
}

/**
 * Effects per node, labelled: values[...] = M(base run with the node patched from the source run) −
 * M(base run). `baseMetric` and `sourceMetric` are the unpatched runs' metrics, so raw patched
 * metrics and normalised scores can be recovered.
 */
export interface PatchingResult extends LabelledTensor {
  readonly preset: PresetName;
  readonly direction: PatchDirection;
  readonly baseMetric: number;
  readonly sourceMetric: number;
  readonly cost: PassCount;
}

/** Base and source prompts for a direction. */
export function runsFor(pairs: PromptPairs, direction: PatchDirection): { base: Tensor; source: Tensor } {
  return direction === 'denoising' ? { base: pairs.corrupted, source: pairs.clean } : { base: pairs.clean, source: pairs.corrupted };
}

/** Stacks per-spec grids [layer, ...] under a `component` axis when the preset is an "every" grid. */
export function assemble(
  model: HookedTransformer,
  specs: readonly NodeSpec[],
  every: boolean,
  pos: number,
  grids: readonly Tensor[],
): LabelledTensor {
  const axes = specAxes(model, specs[0]!, pos);
  if (!every) return labelled(grids[0]!, axes);
  return labelled(stack(grids, 0), [{ name: 'component', labels: specs.map((s) => s.label) }, ...axes]);
}

/**
 * Activation patching, the ground truth: one forward pass per node, over the whole batch of
 * prompt pairs, with the node's activation (a slice of one hook point) replaced by the source run's.
 */
export function activationPatching(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: PatchingOptions): PatchingResult {
  const op = 'activationPatching';
  const { pos } = checkPairs(op, pairs);
  const direction = options.direction ?? 'denoising';
  const counter = options.counter ?? new PassCounter();
  const { specs, every } = presetSpecs(model, options.preset, op);
  const { base, source } = runsFor(pairs, direction);
  const hooks = [...new Set(specs.flatMap((s) => Array.from({ length: model.cfg.nLayers }, (_, l) => hookFor(s.kind, l))))];
  const src = cacheActivations(model, source, hooks, { counter });
  const baseRun = cacheActivations(model, base, [], { counter });
  const baseMetric = metricValue(metric, baseRun.logits);
  const sourceMetric = metricValue(metric, src.logits);
  const grids = specs.map((s) => {
    const perLayer = nodesPerLayer(model, s, pos);
    const layers: Tensor[] = [];
    for (let l = 0; l < model.cfg.nLayers; l++) {
      const hook = hookFor(s.kind, l);
      const patchedFrom = src.acts.get(hook)!;
      const effects = new Float32Array(perLayer);
      for (let i = 0; i < perLayer; i++) {
        if (!nodeIsLive(s, pos, i)) continue;
        const mask = nodeMask(model, s, pos, i);
        const logits = noGrad(() => model.withHooks({ fwdHooks: [[hook, (act) => where(mask, patchedFrom, act)]] }, () => model.forward(base)));
        counter.forward++;
        effects[i] = metricValue(metric, logits) - baseMetric;
      }
      layers.push(tensor(effects, { shape: specAxes(model, s, pos).slice(1).map((a) => a.labels.length) }));
    }
    return stack(layers, 0);
  });
  return { ...assemble(model, specs, every, pos, grids), preset: options.preset, direction, baseMetric, sourceMetric, cost: counter.snapshot() };
}

/** Flattens a grid's values for comparisons: [n]. */
export function flatValues(t: LabelledTensor): Float32Array {
  return Float32Array.from(t.values.data());
}

/** Concatenates several labelled grids' values (for correlations over many node sets). */
export function concatValues(ts: readonly LabelledTensor[]): Tensor {
  return concat(
    ts.map((t) => t.values.reshape([-1])),
    0,
  );
}
