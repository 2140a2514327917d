import { track } from '../autograd/graph.ts';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors.ts';
import { normalizeAxis, shapesEqual } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { cast, div, ne } from './elementwise.ts';
import { flatten, reshape } from './movement.ts';
import { sum } from './reduce.ts';
import { fromHandle, scalarTensor } from './util.ts';

function softmaxLike(op: 'softmax' | 'logSoftmax') {
  return (x: Tensor, axis = -1): Tensor => {
    const input = cast(x, 'float32');
    if (input.rank === 0) return op === 'softmax' ? scalarTensor(1, 'float32', x.backend) : scalarTensor(0, 'float32', x.backend);
    const a = normalizeAxis(op, axis, input.rank);
    const handle = input.backend.kernels[op](input, a);
    return track(op, [input], { axis: a }, fromHandle(input.backend, handle, input.shape, 'float32'));
  };
}

/** Softmax along an axis; the maximum is subtracted first, so large logits cannot overflow. */
export const softmax = softmaxLike('softmax');
export const logSoftmax = softmaxLike('logSoftmax');

function checkAffine(op: string, x: Tensor, param: Tensor | undefined, arg: string): void {
  const d = x.shape[x.rank - 1];
  if (param && (param.rank !== 1 || param.shape[0] !== d)) {
    throw new ShapeError('parameter does not match the normalised axis', { op, arg, expected: `shape [${d}]`, given: formatShape(param.shape) });
  }
}

/** LayerNorm over the last axis, with its own fused backward. */
export function layerNorm(x: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  if (x.rank === 0) throw new ShapeError('layerNorm needs an axis to normalise', { op: 'layerNorm', arg: 'x', expected: 'rank >= 1', given: '[]' });
  checkAffine('layerNorm', x, weight, 'weight');
  checkAffine('layerNorm', x, bias, 'bias');
  const handle = x.backend.kernels.layerNorm(x, weight ?? null, bias ?? null, eps);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return track('layerNorm', inputs, { eps, hasWeight: !!weight, hasBias: !!bias }, fromHandle(x.backend, handle, x.shape, 'float32'));
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight. */
export function rmsNorm(x: Tensor, weight?: Tensor, eps = 1e-5): Tensor {
  if (x.rank === 0) throw new ShapeError('rmsNorm needs an axis to normalise', { op: 'rmsNorm', arg: 'x', expected: 'rank >= 1', given: '[]' });
  checkAffine('rmsNorm', x, weight, 'weight');
  const handle = x.backend.kernels.rmsNorm(x, weight ?? null, eps);
  return track('rmsNorm', weight ? [x, weight] : [x], { eps, hasWeight: !!weight }, fromHandle(x.backend, handle, x.shape, 'float32'));
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped and excluded from the mean. PyTorch's default is -100. */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy from logits [..., c] and int32 targets [...]. With reduction 'mean' the loss is
 * averaged over non-ignored targets (NaN when every target is ignored, as in PyTorch).
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = options;
  if (targets.dtype !== 'int32') throw new DTypeError('targets must be int32 class ids', { op: 'crossEntropy', arg: 'targets', expected: 'int32', given: targets.dtype });
  if (logits.rank < 1 || !shapesEqual(logits.shape.slice(0, -1), targets.shape)) {
    throw new ShapeError('targets must match logits without the class axis', {
      op: 'crossEntropy',
      arg: 'targets',
      expected: formatShape(logits.shape.slice(0, -1)),
      given: formatShape(targets.shape),
    });
  }
  if (!['mean', 'sum', 'none'].includes(reduction)) {
    throw new ValueError('unknown reduction', { op: 'crossEntropy', arg: 'reduction', expected: "'mean', 'sum' or 'none'", given: String(reduction) });
  }
  const classes = logits.shape[logits.rank - 1]!;
  const flatLogits = reshape(cast(logits, 'float32'), [-1, classes]);
  const flatTargets = flatten(targets);
  const bad = Array.from(flatTargets.data()).find((t) => t !== ignoreIndex && (t < 0 || t >= classes));
  if (bad !== undefined) {
    throw new ValueError('target out of range', { op: 'crossEntropy', arg: 'targets', expected: `class ids in [0, ${classes - 1}] or ignoreIndex ${ignoreIndex}`, given: String(bad) });
  }
  const handle = flatLogits.backend.kernels.crossEntropy(flatLogits, flatTargets, ignoreIndex);
  const perRow = track('crossEntropy', [flatLogits, flatTargets], { ignoreIndex }, fromHandle(flatLogits.backend, handle, flatTargets.shape, 'float32'));
  if (reduction === 'none') return reshape(perRow, targets.shape);
  if (reduction === 'sum') return sum(perRow);
  return div(sum(perRow), sum(ne(flatTargets, ignoreIndex)));
}
