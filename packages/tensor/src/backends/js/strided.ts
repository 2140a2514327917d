import type { View } from '../../backend.ts';
import { allocArray, type TypedArray } from '../../dtype.ts';
import { isContiguous, sizeOf } from '../../shape.ts';

export type JsView = View<TypedArray>;

/**
 * Visits every element of `shape` in row-major order and yields its offset under `strides`.
 * The walk runs the last axis in a tight loop and carries the outer axes as an odometer.
 */
export function forEachOffset(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  visit: (flatIndex: number, offset: number) => void,
): void {
  const size = sizeOf(shape);
  if (size === 0) return;
  const rank = shape.length;
  if (rank === 0) {
    visit(0, offset);
    return;
  }
  const inner = shape[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const counter = new Array<number>(rank).fill(0);
  let base = offset;
  for (let flat = 0; flat < size; flat += inner) {
    for (let i = 0; i < inner; i++) visit(flat + i, base + i * innerStride);
    for (let axis = rank - 2; axis >= 0; axis--) {
      counter[axis]!++;
      base += strides[axis]!;
      if (counter[axis]! < shape[axis]!) break;
      base -= strides[axis]! * shape[axis]!;
      counter[axis] = 0;
    }
  }
}

/** The view's elements as a contiguous array: the buffer itself when it already is one. */
export function contiguousData(x: JsView): TypedArray {
  const size = sizeOf(x.shape);
  if (isContiguous(x.shape, x.strides)) {
    if (x.offset === 0 && x.handle.length === size) return x.handle;
    return x.handle.subarray(x.offset, x.offset + size);
  }
  const out = allocArray(x.dtype, size);
  const src = x.handle;
  forEachOffset(x.shape, x.strides, x.offset, (i, o) => {
    out[i] = src[o]!;
  });
  return out;
}

/** Moves `axis` to the end and returns the data contiguous in that order, with rows of length shape[axis]. */
export function axisLastData(x: JsView, axis: number): { data: TypedArray; rows: number; length: number } {
  const order = [...x.shape.keys()].filter((a) => a !== axis).concat(axis);
  const moved: JsView = {
    ...x,
    shape: order.map((a) => x.shape[a]!),
    strides: order.map((a) => x.strides[a]!),
  };
  const length = x.shape[axis] ?? 1;
  const size = sizeOf(x.shape);
  return { data: contiguousData(moved), rows: length === 0 ? 0 : size / length, length };
}

/** Inverse of axisLastData: writes rows laid out with `axis` last back into row-major order of `shape`. */
export function fromAxisLast(rowsData: TypedArray, shape: readonly number[], axis: number): TypedArray {
  if (axis === shape.length - 1 || shape.length === 0) return rowsData;
  const order = [...shape.keys()].filter((a) => a !== axis).concat(axis);
  const movedShape = order.map((a) => shape[a]!);
  const movedStrides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = movedShape.length - 1; i >= 0; i--) {
    movedStrides[i] = stride;
    stride *= movedShape[i]!;
  }
  // Strides of the original axes inside the axis-last buffer.
  const strides = new Array<number>(shape.length);
  order.forEach((a, i) => {
    strides[a] = movedStrides[i]!;
  });
  const out = allocArray(rowsData instanceof Float32Array ? 'float32' : 'int32', rowsData.length);
  forEachOffset(shape, strides, 0, (i, o) => {
    out[i] = rowsData[o]!;
  });
  return out;
}
