import { track } from '../autograd/graph.ts';
import type { BinaryKernelOp, CompareKernelOp, UnaryKernelOp } from '../backend.ts';
import { type DType, promoteTypes } from '../dtype.ts';
import { ValueError } from '../errors.ts';
import { broadcastShapes } from '../shape.ts';
import type { Tensor, TensorLike } from '../tensor.ts';
import { expand } from './movement.ts';
import { asTensors, fromHandle } from './util.ts';

/** Ops that are only defined on floats: an int32 input is promoted first, as in PyTorch. */
const FLOAT_ONLY: ReadonlySet<UnaryKernelOp> = new Set(['exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'erf', 'gelu', 'geluTanh']);

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const handle = x.backend.kernels.copy(x, dtype);
  return track('cast', [x], { dtype }, fromHandle(x.backend, handle, x.shape, dtype));
}

function unaryOp(op: UnaryKernelOp) {
  return (x: Tensor): Tensor => {
    const input = FLOAT_ONLY.has(op) ? cast(x, 'float32') : x;
    const handle = input.backend.kernels[op](input);
    return track(op, [input], {}, fromHandle(input.backend, handle, input.shape, input.dtype));
  };
}

export const neg = unaryOp('neg');
export const exp = unaryOp('exp');
export const log = unaryOp('log');
export const sqrt = unaryOp('sqrt');
export const rsqrt = unaryOp('rsqrt');
export const tanh = unaryOp('tanh');
export const sigmoid = unaryOp('sigmoid');
export const relu = unaryOp('relu');
export const erf = unaryOp('erf');
export const abs = unaryOp('abs');
export const sign = unaryOp('sign');

/** GELU; `approximate: 'tanh'` is the gelu_new form used by GPT-2. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return unaryOp(approximate === 'tanh' ? 'geluTanh' : 'gelu')(x);
}

/** Promotes and broadcasts the operands to a common dtype and shape; expansions are recorded, so gradients unbroadcast. */
function aligned(op: string, values: readonly TensorLike[], dtype?: DType): Tensor[] {
  const tensors = asTensors(op, values);
  const common = dtype ?? tensors.map((t) => t.dtype).reduce(promoteTypes);
  const shape = broadcastShapes(op, ...tensors.map((t) => t.shape));
  return tensors.map((t) => expand(cast(t, common), shape));
}

function binaryOp(op: BinaryKernelOp, dtype?: DType) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = aligned(op, [a, b], dtype) as [Tensor, Tensor];
    const handle = x.backend.kernels[op](x, y);
    return track(op, [x, y], {}, fromHandle(x.backend, handle, x.shape, x.dtype));
  };
}

export const add = binaryOp('add');
export const sub = binaryOp('sub');
export const mul = binaryOp('mul');
/** True division: the result is always float32. */
export const div = binaryOp('div', 'float32');
export const pow = binaryOp('pow');
export const maximum = binaryOp('maximum');
export const minimum = binaryOp('minimum');

function compareOp(op: CompareKernelOp) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = aligned(op, [a, b]) as [Tensor, Tensor];
    const handle = x.backend.kernels[op](x, y);
    return track(op, [x, y], {}, fromHandle(x.backend, handle, x.shape, 'int32'));
  };
}

/** Comparisons give int32 masks of 0 and 1; they have no gradient. */
export const eq = compareOp('eq');
export const ne = compareOp('ne');
export const lt = compareOp('lt');
export const le = compareOp('le');
export const gt = compareOp('gt');
export const ge = compareOp('ge');

/** Elementwise choice: `a` where `cond` is nonzero, else `b`. All three broadcast together. */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [c0, a0, b0] = asTensors('where', [cond, a, b]) as [Tensor, Tensor, Tensor];
  const shape = broadcastShapes('where', c0.shape, a0.shape, b0.shape);
  const dtype = promoteTypes(a0.dtype, b0.dtype);
  const [c, x, y] = [expand(c0, shape), expand(cast(a0, dtype), shape), expand(cast(b0, dtype), shape)];
  const handle = x.backend.kernels.where(c, x, y);
  return track('where', [c, x, y], {}, fromHandle(x.backend, handle, shape, dtype));
}

export function clamp(x: Tensor, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): Tensor {
  if (Number.isNaN(min) || Number.isNaN(max) || min > max) {
    throw new ValueError('invalid clamp bounds', { op: 'clamp', arg: 'min, max', expected: 'min <= max', given: `min=${min}, max=${max}` });
  }
  const handle = x.backend.kernels.clamp(x, min, max);
  return track('clamp', [x], { min, max }, fromHandle(x.backend, handle, x.shape, x.dtype));
}

export function square(x: Tensor): Tensor {
  return mul(x, x);
}
