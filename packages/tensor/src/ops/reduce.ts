import { track } from '../autograd/graph.ts';
import { ShapeError, ValueError, formatShape } from '../errors.ts';
import { normalizeAxes, normalizeAxis, sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { abs, add, cast, div, eq, exp, log, mul, sqrt, sub, where } from './elementwise.ts';
import { flatten, reshape } from './movement.ts';
import { fromHandle, scalarTensor } from './util.ts';

export type Axes = number | readonly number[] | undefined;

function keptShape(shape: readonly number[], axes: readonly number[], keepDim: boolean): number[] {
  return keepDim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function reduceOp(op: 'sum' | 'max' | 'min') {
  return (x: Tensor, axes?: Axes, keepDim = false): Tensor => {
    const resolved = normalizeAxes(op, axes, x.rank);
    if (op !== 'sum' && resolved.some((a) => x.shape[a] === 0)) {
      throw new ShapeError('cannot take the extreme of an empty axis', {
        op,
        arg: 'axes',
        expected: 'axes of non-zero size',
        given: `axes [${resolved.join(', ')}] of shape ${formatShape(x.shape)}`,
      });
    }
    if (resolved.length === 0) return x;
    const handle = x.backend.kernels[op](x, resolved);
    const out = track(op, [x], { axes: resolved }, fromHandle(x.backend, handle, keptShape(x.shape, resolved, false), x.dtype));
    return keepDim ? reshape(out, keptShape(x.shape, resolved, true)) : out;
  };
}

export const sum = reduceOp('sum');
/** Maximum over axes; the gradient is shared equally among tied maxima (PyTorch's amax). */
export const max = reduceOp('max');
export const min = reduceOp('min');

export function mean(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  const resolved = normalizeAxes('mean', axes, x.rank);
  const count = sizeOf(resolved.map((a) => x.shape[a]!));
  return div(sum(cast(x, 'float32'), resolved, keepDim), count);
}

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(x: Tensor, axes?: Axes, options: { correction?: number; keepDim?: boolean } = {}): Tensor {
  const { correction = 1, keepDim = false } = options;
  const resolved = normalizeAxes('var', axes, x.rank);
  const count = sizeOf(resolved.map((a) => x.shape[a]!));
  const centered = sub(x, mean(x, resolved, true));
  return div(sum(mul(centered, centered), resolved, keepDim), Math.max(count - correction, 0));
}

/** The p-norm over axes: p = 1, 2 or Infinity. */
export function norm(x: Tensor, p: 1 | 2 | typeof Number.POSITIVE_INFINITY = 2, axes?: Axes, keepDim = false): Tensor {
  if (p === 1) return sum(abs(x), axes, keepDim);
  if (p === 2) {
    // sqrt has an infinite slope at 0; as in PyTorch, the gradient at a zero vector is 0, not NaN.
    const squares = sum(mul(x, x), axes, keepDim);
    const zero = eq(squares, 0);
    return where(zero, 0, sqrt(where(zero, 1, squares)));
  }
  if (p === Number.POSITIVE_INFINITY) return max(abs(x), axes, keepDim);
  throw new ValueError('unsupported norm order', { op: 'norm', arg: 'p', expected: '1, 2 or Infinity', given: String(p) });
}

/** log(sum(exp(x))) computed stably by shifting with the (constant) maximum. */
export function logsumexp(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  const resolved = normalizeAxes('logsumexp', axes, x.rank);
  // Over an empty axis there is no maximum, and the answer is log(0) = -Inf, as in PyTorch.
  const peak = resolved.some((a) => x.shape[a] === 0) ? scalarTensor(0, 'float32', x.backend) : max(x, resolved, true).detach();
  // An all -Inf slice would give -Inf - -Inf; shifting by 0 there keeps the answer -Inf.
  const shift = where(eq(abs(peak), Number.POSITIVE_INFINITY), 0, peak);
  const out = add(log(sum(exp(sub(x, shift)), resolved, true)), shift);
  return keepDim ? out : reshape(out, keptShape(x.shape, resolved, false));
}

function argReduce(op: 'argmax' | 'argmin') {
  return (x: Tensor, axis?: number, keepDim = false): Tensor => {
    const source = axis === undefined ? flatten(x) : x;
    const a = normalizeAxis(op, axis ?? 0, source.rank);
    if (source.rank > 0 && source.shape[a] === 0) {
      throw new ShapeError('cannot take the arg-extreme of an empty axis', { op, arg: 'axis', expected: 'a non-empty axis', given: formatShape(x.shape) });
    }
    if (source.rank === 0) return fromHandle(x.backend, x.backend.kernels.fill('int32', 1, 0), [], 'int32');
    const handle = x.backend.kernels[op](source, a);
    const out = track(op, [source], { axis: a }, fromHandle(x.backend, handle, keptShape(source.shape, [a], false), 'int32'));
    if (!keepDim) return out;
    return reshape(out, axis === undefined ? x.shape.map(() => 1) : keptShape(source.shape, [a], true));
  };
}

export const argmax = argReduce('argmax');
export const argmin = argReduce('argmin');

export function cumsum(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('cumsum', axis, x.rank);
  if (x.rank === 0) return x;
  const handle = x.backend.kernels.cumsum(x, a);
  return track('cumsum', [x], { axis: a }, fromHandle(x.backend, handle, x.shape, x.dtype));
}
