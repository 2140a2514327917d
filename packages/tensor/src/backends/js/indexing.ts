import { allocArray, type TypedArray } from '../../dtype.ts';
import { ValueError } from '../../errors.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { axisLastData, contiguousData, type JsView } from './strided.ts';

function checkIndex(op: string, index: number, size: number): void {
  if (!(index >= 0 && index < size)) {
    throw new ValueError('index out of range', {
      op,
      arg: 'index',
      expected: `indices in [0, ${size - 1}]`,
      given: String(index),
    });
  }
}

/** Element offset in a contiguous buffer of `shape` for the flat position of `indexShape`, with `axis` replaced. */
function gatherOffsets(
  op: string,
  shape: readonly number[],
  axis: number,
  index: JsView,
  visit: (flat: number, target: number) => void,
): void {
  const strides = contiguousStrides(shape);
  const idx = contiguousData(index);
  const counter = new Array<number>(index.shape.length).fill(0);
  for (let flat = 0; flat < idx.length; flat++) {
    const i = idx[flat]!;
    checkIndex(op, i, shape[axis] ?? 1);
    let target = 0;
    for (let d = 0; d < counter.length; d++) target += (d === axis ? i : counter[d]!) * strides[d]!;
    visit(flat, target);
    for (let d = counter.length - 1; d >= 0; d--) {
      counter[d]!++;
      if (counter[d]! < index.shape[d]!) break;
      counter[d] = 0;
    }
  }
}

export function gather(x: JsView, axis: number, index: JsView): TypedArray {
  const data = contiguousData(x);
  const out = allocArray(x.dtype, sizeOf(index.shape));
  gatherOffsets('gather', x.shape, axis, index, (flat, target) => {
    out[flat] = data[target]!;
  });
  return out;
}

export function scatterAdd(base: JsView, axis: number, index: JsView, src: JsView): TypedArray {
  const out = allocArray(base.dtype, sizeOf(base.shape));
  out.set(contiguousData(base));
  const values = contiguousData(src);
  gatherOffsets('scatterAdd', base.shape, axis, index, (flat, target) => {
    out[target] = out[target]! + values[flat]!;
  });
  return out;
}

/** Runs `visit(outBlockStart, srcBlockStart, blockSize)` for each selected slice along `axis`. */
function forEachSelectedSlice(
  op: string,
  shape: readonly number[],
  axis: number,
  index: JsView,
  visit: (selectedPosition: number, sourcePosition: number, outer: number) => void,
): { outer: number; inner: number; picks: number } {
  const idx = contiguousData(index);
  const outer = sizeOf(shape.slice(0, axis));
  const picks = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let p = 0; p < picks; p++) {
      const i = idx[p]!;
      checkIndex(op, i, shape[axis]!);
      visit(p, i, o);
    }
  }
  return { outer, inner: sizeOf(shape.slice(axis + 1)), picks };
}

export function indexSelect(x: JsView, axis: number, index: JsView): TypedArray {
  const data = contiguousData(x);
  const inner = sizeOf(x.shape.slice(axis + 1));
  const size = x.shape[axis]!;
  const picks = sizeOf(index.shape);
  const out = allocArray(x.dtype, sizeOf(x.shape.slice(0, axis)) * picks * inner);
  forEachSelectedSlice('indexSelect', x.shape, axis, index, (p, i, o) => {
    const from = (o * size + i) * inner;
    out.set(data.subarray(from, from + inner), (o * picks + p) * inner);
  });
  return out;
}

export function indexAdd(base: JsView, axis: number, index: JsView, src: JsView): TypedArray {
  const out = allocArray(base.dtype, sizeOf(base.shape));
  out.set(contiguousData(base));
  const values = contiguousData(src);
  const inner = sizeOf(base.shape.slice(axis + 1));
  const size = base.shape[axis]!;
  const picks = sizeOf(index.shape);
  forEachSelectedSlice('indexAdd', base.shape, axis, index, (p, i, o) => {
    const to = (o * size + i) * inner;
    const from = (o * picks + p) * inner;
    for (let j = 0; j < inner; j++) out[to + j] = out[to + j]! + values[from + j]!;
  });
  return out;
}

export function topk(x: JsView, k: number, largest: boolean): TypedArray {
  const { data, rows, length } = axisLastData(x, x.shape.length - 1);
  const out = new Int32Array(rows * k);
  const sign = largest ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    const start = r * length;
    // Sort by value (NaN counts as largest, as in PyTorch), ties broken by lower index.
    const key = (i: number) => {
      const v = data[start + i]!;
      return v !== v ? sign * Number.POSITIVE_INFINITY : sign * v;
    };
    const sorted = Array.from({ length }, (_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
    for (let j = 0; j < k; j++) out[r * k + j] = sorted[j]!;
  }
  return out;
}

