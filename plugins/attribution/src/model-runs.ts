import type { ForwardHook, HookFilter, HookedTransformer } from '@glassbox/model';
import { HookedTransformer as HookedTransformerClass } from '@glassbox/model';
import { type Tensor, ValueError, noGrad } from '@glassbox/tensor';

/** How many forward and backward passes of the model a method spent (each over the whole batch). */
export interface PassCount {
  forward: number;
  backward: number;
}

/** Counts passes as a method runs; methods take one to report their cost. */
export class PassCounter implements PassCount {
  forward = 0;
  backward = 0;

  snapshot(): PassCount {
    return { forward: this.forward, backward: this.backward };
  }
}

/** The model a command received, checked to be a HookedTransformer. */
export function asHookedTransformer(model: unknown, op: string): HookedTransformer {
  if (model instanceof HookedTransformerClass) return model;
  throw new ValueError('this command needs a HookedTransformer', { op, arg: 'model', expected: 'a HookedTransformer (--model)', given: model === undefined ? 'no model' : typeof model });
}

/**
 * Runs `fn` with every parameter's requiresGrad off, so that backward passes compute only the
 * activation gradients the methods need and leave parameters' `.grad` untouched.
 */
export function withFrozenParams<T>(model: HookedTransformer, fn: () => T): T {
  return withFrozen(model.parameters(), fn);
}

/** Runs `fn` with requiresGrad off on `params`, restoring each one's flag afterwards. */
export function withFrozen<T>(params: readonly Tensor[], fn: () => T): T {
  const previous = params.map((p) => p.requiresGrad);
  for (const p of params) p.requiresGrad = false;
  try {
    return fn();
  } finally {
    params.forEach((p, i) => {
      p.requiresGrad = previous[i]!;
    });
  }
}

/** The logits and the activations at `names` (detached) of one forward pass without a graph. */
export function cacheActivations(
  model: HookedTransformer,
  tokens: Tensor,
  names: readonly string[],
  options: { counter?: PassCounter; fwdHooks?: ReadonlyArray<readonly [HookFilter, ForwardHook]> } = {},
): { logits: Tensor; acts: Map<string, Tensor> } {
  const acts = new Map<string, Tensor>();
  const capture: ForwardHook = (act, hook) => {
    acts.set(hook.name, act.detach());
  };
  const logits = noGrad(() => model.withHooks({ fwdHooks: [...(options.fwdHooks ?? []), ...(names.length > 0 ? [[names, capture] as const] : [])] }, () => model.forward(tokens)));
  if (options.counter) options.counter.forward++;
  return { logits, acts };
}

/** A forward pass kept on the tape, for one or more backward passes of a metric. */
export interface TapedRun {
  readonly logits: Tensor;
  /** Activations at the requested hooks (on the tape). */
  readonly acts: Map<string, Tensor>;
  /** ∂metric/∂activation at the requested hooks, from the latest backward pass. */
  readonly grads: Map<string, Tensor>;
  /** Differentiates `value` (a 0-d function of the logits); counts one backward pass. */
  backward(value: Tensor): void;
}

/**
 * One forward pass with parameters frozen and the token embedding made a leaf that requires
 * gradients, so that every activation downstream is on the tape. The model's hooks are removed
 * again before this returns; the tensors keep their gradient hooks, so `backward` can run several
 * times on the same forward pass (GradDrop does).
 */
export function tapedRun(
  model: HookedTransformer,
  tokens: Tensor,
  names: readonly string[],
  options: { counter?: PassCounter; fwdHooks?: ReadonlyArray<readonly [HookFilter, ForwardHook]> } = {},
): TapedRun {
  const acts = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  const leaf: ForwardHook = (act) => (act.requiresGrad ? undefined : act.detach().setRequiresGrad(true));
  const capture: ForwardHook = (act, hook) => {
    const name = hook.name;
    acts.set(name, act);
    if (act.requiresGrad) {
      act.registerHook((g) => {
        grads.set(name, g);
        return undefined;
      });
    }
  };
  const fwdHooks: Array<readonly [HookFilter, ForwardHook]> = [['hook_embed', leaf], ...(options.fwdHooks ?? [])];
  if (names.length > 0) fwdHooks.push([names, capture]);
  const logits = withFrozenParams(model, () => model.withHooks({ fwdHooks }, () => model.forward(tokens)));
  if (options.counter) options.counter.forward++;
  return {
    logits,
    acts,
    grads,
    backward(value: Tensor) {
      grads.clear();
      withFrozenParams(model, () => value.backward());
      if (options.counter) options.counter.backward++;
    },
  };
}

/** The metric of a forward pass without a graph, as a number. */
export function metricValue(metric: (logits: Tensor) => Tensor, logits: Tensor): number {
  return noGrad(() => metric(logits).item());
}
