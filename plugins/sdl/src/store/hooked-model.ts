import { type Tensor, ValueError } from '@glassbox/tensor';

/** A forward hook: sees a hook point's activation and may return a replacement. */
// biome-ignore lint/suspicious/noConfusingVoidType: hooks that only observe return nothing
export type ForwardHookFn = (activation: Tensor) => Tensor | undefined | void;

/**
 * What this plugin needs from a model: one forward pass with forward hooks attached for that call
 * only, returning the logits [batch, pos, d_vocab]. `@glassbox/model`'s HookedTransformer has
 * this shape (TransformerLens's run_with_hooks); keeping to it leaves the plugin usable with any
 * model that does.
 */
export interface HookedModelLike {
  runWithHooks(tokens: Tensor, options: { fwdHooks?: ReadonlyArray<readonly [string, ForwardHookFn]> }): Tensor;
}

/**
 * One forward pass that only reads `hookName`, returning the activation detached. // tokens [batch, pos]
 */
export function captureActivation(model: HookedModelLike, tokens: Tensor, hookName: string): Tensor {
  let captured: Tensor | null = null;
  model.runWithHooks(tokens, {
    fwdHooks: [
      [
        hookName,
        (activation) => {
          captured = activation.detach();
        },
      ],
    ],
  });
  if (!captured) {
    throw new ValueError('the hook did not fire', { op: 'captureActivation', arg: 'hookName', expected: 'a hook point the forward pass reaches', given: JSON.stringify(hookName) });
  }
  return captured;
}
