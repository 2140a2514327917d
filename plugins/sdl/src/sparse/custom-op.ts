import { type Tensor, add, isGradEnabled } from '@glassbox/tensor';

/**
 * Joins a value computed off the tape to the tape with a hand-written backward rule.
 *
 * `output` must have been computed without recording (plain typed-array code or under noGrad).
 * When any input needs gradients, the output becomes a tape leaf with a gradient hook: once its
 * gradient is complete, `backward(grad)` returns one gradient per input (or null), and each is
 * delivered as autograd would: accumulated into `.grad` for a leaf (after the leaf's own hooks), or
 * pushed on through the input's own sub-graph with a nested backward pass. Because backward is
 * linear, delivering a shared sub-graph's gradient in two passes gives the same sums as one pass.
 *
 * This is how the sparse SAE kernels take part in autograd without a new primitive in the engine.
 */
export function customOp(inputs: readonly Tensor[], output: Tensor, backward: (grad: Tensor) => ReadonlyArray<Tensor | null>): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return output;
  output.setRequiresGrad(true);
  output.registerHook((grad) => {
    const grads = backward(grad);
    inputs.forEach((input, i) => {
      let g = grads[i];
      if (!g || !input.requiresGrad) return;
      if (input.isLeaf) {
        for (const hook of input.gradHooks) g = hook(g) ?? g;
        input.grad = input.grad ? add(input.grad, g) : g;
      } else {
        input.backward(g);
      }
    });
    return undefined;
  });
  return output;
}
