import { Module, ShapeError, type Tensor, formatShape } from '@glassbox/tensor';

/**
 * Called with the activation at a hook point during the forward pass. Returning a tensor of the
 * same shape replaces the activation downstream (patching, ablation, steering); returning nothing
 * leaves it as it is.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that only observes is a function returning void.
export type ForwardHook = (activation: Tensor, hook: HookPoint) => Tensor | undefined | void;
/**
 * Called with the gradient of the backward pass's root with respect to the activation at a hook
 * point. Returning a tensor of the same shape replaces that gradient upstream.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that only observes is a function returning void.
export type BackwardHook = (grad: Tensor, hook: HookPoint) => Tensor | undefined | void;

export type HookDirection = 'fwd' | 'bwd';

/**
 * An identity layer that names an activation, so hooks can read, replace and differentiate it.
 * The model gives each hook point its dotted name (`blocks.0.attn.hook_z`) when it is built.
 * Hooks are added with `addHook`, which returns a function that removes that hook again; the model's
 * `hooks`, `runWithHooks` and `runWithCache` add and remove them for the length of one call.
 */
export class HookPoint extends Module {
  name = '';
  readonly #fwd: ForwardHook[] = [];
  readonly #bwd: BackwardHook[] = [];

  /** Adds a hook; the returned function removes it (calling it twice is harmless). */
  addHook(hook: ForwardHook | BackwardHook, direction: HookDirection = 'fwd'): () => void {
    const list: Array<ForwardHook | BackwardHook> = direction === 'fwd' ? this.#fwd : this.#bwd;
    list.push(hook);
    return () => {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Removes every hook of one direction, or of both. */
  removeHooks(direction: HookDirection | 'both' = 'both'): void {
    if (direction !== 'bwd') this.#fwd.length = 0;
    if (direction !== 'fwd') this.#bwd.length = 0;
  }

  /** Whether any hook is attached; layers use it to compute an optional activation only when someone watches it. */
  get isActive(): boolean {
    return this.#fwd.length > 0 || this.#bwd.length > 0;
  }

  get forwardHookCount(): number {
    return this.#fwd.length;
  }
  get backwardHookCount(): number {
    return this.#bwd.length;
  }

  /** Runs the forward hooks in the order they were added, then arranges for the backward hooks. */
  forward(x: Tensor): Tensor {
    if (!this.isActive) return x;
    let out = x;
    for (const hook of [...this.#fwd]) {
      const replacement = hook(out, this);
      if (replacement === undefined || replacement === null) continue;
      this.#checkShape('a forward hook returned a tensor of the wrong shape', out, replacement);
      out = replacement;
    }
    if (this.#bwd.length > 0 && out.requiresGrad) {
      const hooks = [...this.#bwd];
      out.registerHook((grad) => {
        let g = grad;
        // A hook removed after this forward pass (the end of its scope) no longer fires.
        for (const hook of hooks.filter((h) => this.#bwd.includes(h))) {
          const replacement = hook(g, this);
          if (replacement === undefined || replacement === null) continue;
          this.#checkShape('a backward hook returned a gradient of the wrong shape', g, replacement);
          g = replacement;
        }
        return g;
      });
    }
    return out;
  }

  #checkShape(summary: string, original: Tensor, replacement: Tensor): void {
    if (replacement.shape.length === original.shape.length && replacement.shape.every((d, i) => d === original.shape[i])) return;
    throw new ShapeError(summary, {
      op: `HookPoint(${this.name})`,
      arg: 'replacement',
      expected: formatShape(original.shape),
      given: formatShape(replacement.shape),
    });
  }
}
