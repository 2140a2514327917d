import { AutogradError, ShapeError, formatShape } from '../errors.ts';
import { add, onesLike } from '../ops/index.ts';
import { shapesEqual } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { checkFinite, inBackwardOf, isAnomalyMode, noGrad } from './graph.ts';
import { gradients } from './gradients.ts';

/** Tensors reachable from `root` through the tape, inputs before the ops that use them. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Array<[Tensor, boolean]> = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const input of t.node?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
    }
  }
  return order;
}

/**
 * Reverse-mode differentiation from `root`. Gradients accumulate into `.grad` of leaves that
 * require them and of intermediates that called retainGrad(); hooks see (and may replace) each
 * gradient once it is complete.
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) {
    throw new AutogradError('tensor does not require grad', {
      op: 'backward',
      expected: 'a tensor computed from inputs with requiresGrad set',
      given: root.toString(),
    });
  }
  if (!seed && root.size !== 1) {
    throw new AutogradError('a seed gradient is needed for a non-scalar output', {
      op: 'backward',
      arg: 'seed',
      expected: `a tensor of shape ${formatShape(root.shape)}`,
      given: 'nothing',
    });
  }
  const start = seed ?? noGrad(() => onesLike(root));
  if (!shapesEqual(start.shape, root.shape)) {
    throw new ShapeError('seed shape does not match the output', {
      op: 'backward',
      arg: 'seed',
      expected: formatShape(root.shape),
      given: formatShape(start.shape),
    });
  }
  const pending = new Map<Tensor, Tensor>([[root, start]]);
  noGrad(() => {
    const order = topologicalOrder(root);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      let grad = pending.get(t);
      if (!grad) continue;
      pending.delete(t);
      for (const hook of t.gradHooks) grad = hook(grad) ?? grad;
      if (t.isLeaf || t.retainsGrad) t.grad = t.grad ? add(t.grad, grad) : grad;
      const node = t.node;
      if (!node) continue;
      const rule = gradients[node.op];
      if (rule === 'not-differentiable') continue;
      const inputGrads = inBackwardOf(node.op, () =>
        (rule as (args: unknown) => ReadonlyArray<Tensor | null>)({
          inputs: node.inputs,
          output: t,
          grad,
          attrs: node.attrs,
        }),
      );
      node.inputs.forEach((input, j) => {
        const g = inputGrads[j];
        if (!g || !input.requiresGrad) return;
        if (!shapesEqual(g.shape, input.shape)) {
          throw new ShapeError('gradient rule returned the wrong shape', {
            op: `${node.op} backward`,
            arg: `input ${j}`,
            expected: formatShape(input.shape),
            given: formatShape(g.shape),
          });
        }
        if (isAnomalyMode()) checkFinite(`${node.op} backward`, g, `gradient for input ${j}`);
        const previous = pending.get(input);
        pending.set(input, previous ? add(previous, g) : g);
      });
    }
  });
}
