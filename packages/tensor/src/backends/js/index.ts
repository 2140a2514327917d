import type { Backend, KernelTable } from '../../backend.ts';
import { allocArray, type TypedArray } from '../../dtype.ts';
import { adamUpdate } from './adam.ts';
import { sizeOf } from '../../shape.ts';
import { binary, binaryFunctions, clamp, compareFunctions, copy, assign, fill, unary, unaryFunctions, where } from './elementwise.ts';
import { gather, indexAdd, indexSelect, scatterAdd, topk } from './indexing.ts';
import { matmulF32 } from './matmul.ts';
import { argmax, argmin, crossEntropy, cumsum, layerNorm, logSoftmax, max, min, rmsNorm, softmax, sum } from './reduce.ts';
import { forEachOffset, type JsView } from './strided.ts';

/** The single stride that walks all batch dimensions in order, or null when they do not merge. */
function mergedBatchStride(shape: readonly number[], strides: readonly number[]): number | null {
  let stride: number | null = null;
  let next = 0; // the stride the next outer (non-unit) dimension must have
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (stride === null) stride = strides[i]!;
    else if (strides[i] !== next) return null;
    next = strides[i]! * shape[i]!;
  }
  return stride ?? 0;
}

/** Batched matmul: one call to the blocked kernel when the batch dimensions merge, else one per batch entry. */
function matmul(a: JsView, b: JsView): TypedArray {
  const rank = a.shape.length;
  const [m, k] = [a.shape[rank - 2]!, a.shape[rank - 1]!];
  const n = b.shape[rank - 1]!;
  const batchShape = a.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const out = new Float32Array(batch * m * n);
  const aData = a.handle as Float32Array;
  const bData = b.handle as Float32Array;
  const aBatch = mergedBatchStride(batchShape, a.strides.slice(0, -2));
  const bBatch = mergedBatchStride(batchShape, b.strides.slice(0, -2));
  if (aBatch !== null && bBatch !== null) {
    const aStrides = [aBatch, a.strides[rank - 2]!, a.strides[rank - 1]!] as const;
    const bStrides = [bBatch, b.strides[rank - 2]!, b.strides[rank - 1]!] as const;
    matmulF32(aData, a.offset, aStrides, bData, b.offset, bStrides, out, batch, m, k, n);
    return out;
  }
  const aStrides = [0, a.strides[rank - 2]!, a.strides[rank - 1]!] as const;
  const bStrides = [0, b.strides[rank - 2]!, b.strides[rank - 1]!] as const;
  const aOffsets: number[] = [];
  forEachOffset(batchShape, a.strides.slice(0, -2), a.offset, (_, o) => aOffsets.push(o));
  forEachOffset(batchShape, b.strides.slice(0, -2), b.offset, (i, bOffset) => {
    const slice = out.subarray(i * m * n, (i + 1) * m * n);
    matmulF32(aData, aOffsets[i]!, aStrides, bData, bOffset, bStrides, slice, 1, m, k, n);
  });
  return out;
}

const kernels: KernelTable<TypedArray> = {
  ...(Object.fromEntries(Object.entries(unaryFunctions).map(([op, f]) => [op, unary(f)])) as {
    [K in keyof typeof unaryFunctions]: (x: JsView) => TypedArray;
  }),
  ...(Object.fromEntries(Object.entries(binaryFunctions).map(([op, f]) => [op, binary(f)])) as {
    [K in keyof typeof binaryFunctions]: (a: JsView, b: JsView) => TypedArray;
  }),
  ...(Object.fromEntries(Object.entries(compareFunctions).map(([op, f]) => [op, binary(f, 'int32')])) as {
    [K in keyof typeof compareFunctions]: (a: JsView, b: JsView) => TypedArray;
  }),
  sum,
  max,
  min,
  argmax,
  argmin,
  copy,
  assign,
  fill,
  where,
  clamp,
  cumsum,
  softmax,
  logSoftmax,
  matmul,
  gather,
  scatterAdd,
  indexSelect,
  indexAdd,
  topk,
  layerNorm,
  rmsNorm,
  crossEntropy,
  adamUpdate,
};

/** The plain typed-array backend: the reference every other backend is checked against. */
export const jsBackend: Backend<TypedArray> = {
  name: 'js',
  allocate: (dtype, size) => allocArray(dtype, size),
  write: (handle, data) => handle.set(data),
  read: (handle) => handle.slice(),
  // Typed arrays are garbage-collected; there is nothing to free.
  dispose: () => {},
  kernels,
};
