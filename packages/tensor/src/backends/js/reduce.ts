import { allocArray, type TypedArray } from '../../dtype.ts';
import { sizeOf } from '../../shape.ts';
import { axisLastData, contiguousData, fromAxisLast, type JsView } from './strided.ts';

/** Lays the reduced axes out last and contiguous, so each output element reduces one row. */
function reducedRows(x: JsView, axes: readonly number[]): { data: TypedArray; outSize: number; rowLength: number } {
  const kept = [...x.shape.keys()].filter((a) => !axes.includes(a));
  const order = [...kept, ...axes];
  const moved: JsView = { ...x, shape: order.map((a) => x.shape[a]!), strides: order.map((a) => x.strides[a]!) };
  return {
    data: contiguousData(moved),
    outSize: sizeOf(kept.map((a) => x.shape[a]!)),
    rowLength: sizeOf(axes.map((a) => x.shape[a]!)),
  };
}

export function sum(x: JsView, axes: readonly number[]): TypedArray {
  const { data, outSize, rowLength } = reducedRows(x, axes);
  const out = allocArray(x.dtype, outSize);
  for (let r = 0; r < outSize; r++) {
    // Four partial sums in float64: more accurate than a float32 running sum, and pipelined.
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const base = r * rowLength;
    const end4 = base + rowLength - (rowLength % 4);
    let i = base;
    for (; i < end4; i += 4) {
      s0 += data[i]!;
      s1 += data[i + 1]!;
      s2 += data[i + 2]!;
      s3 += data[i + 3]!;
    }
    for (; i < base + rowLength; i++) s0 += data[i]!;
    out[r] = s0 + s1 + s2 + s3;
  }
  return out;
}

function extreme(isBetter: (a: number, b: number) => boolean, identity: number) {
  return (x: JsView, axes: readonly number[]): TypedArray => {
    const { data, outSize, rowLength } = reducedRows(x, axes);
    const out = allocArray(x.dtype, outSize);
    for (let r = 0; r < outSize; r++) {
      let best = rowLength === 0 ? identity : data[r * rowLength]!;
      for (let i = 1; i < rowLength; i++) {
        const v = data[r * rowLength + i]!;
        if (v !== v) {
          best = v; // NaN propagates, as in PyTorch
          break;
        }
        if (isBetter(v, best)) best = v;
      }
      out[r] = best;
    }
    return out;
  };
}

export const max = extreme((a, b) => a > b, Number.NEGATIVE_INFINITY);
export const min = extreme((a, b) => a < b, Number.POSITIVE_INFINITY);

function argExtreme(isBetter: (a: number, b: number) => boolean) {
  return (x: JsView, axis: number): TypedArray => {
    const { data, rows, length } = axisLastData(x, axis);
    const out = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let bestIndex = 0;
      let best = data[r * length]!;
      for (let i = 1; i < length; i++) {
        const v = data[r * length + i]!;
        if (best !== best) break;
        if (v !== v || isBetter(v, best)) {
          best = v;
          bestIndex = i;
        }
      }
      out[r] = bestIndex;
    }
    return out;
  };
}

export const argmax = argExtreme((a, b) => a > b);
export const argmin = argExtreme((a, b) => a < b);

export function cumsum(x: JsView, axis: number): TypedArray {
  const { data, rows, length } = axisLastData(x, axis);
  const out = allocArray(x.dtype, data.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < length; i++) {
      s += data[r * length + i]!;
      out[r * length + i] = s;
    }
  }
  return fromAxisLast(out, x.shape, axis);
}

function rowwise(transform: (data: TypedArray, out: TypedArray, start: number, length: number) => void) {
  return (x: JsView, axis: number): TypedArray => {
    const { data, rows, length } = axisLastData(x, axis);
    const out = allocArray(x.dtype, data.length);
    for (let r = 0; r < rows; r++) transform(data, out, r * length, length);
    return fromAxisLast(out, x.shape, axis);
  };
}

function rowMax(data: TypedArray, start: number, length: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = start; i < start + length; i++) if (data[i]! > m) m = data[i]!;
  // A row of -Inf (fully masked) stays finite-shifted instead of producing Inf - Inf.
  return m === Number.NEGATIVE_INFINITY ? 0 : m;
}

/** Subtracts the row maximum before exponentiating, so large logits never overflow. */
export const softmax = rowwise((data, out, start, length) => {
  const m = rowMax(data, start, length);
  let total = 0;
  for (let i = start; i < start + length; i++) {
    const e = Math.exp(data[i]! - m);
    out[i] = e;
    total += e;
  }
  for (let i = start; i < start + length; i++) out[i] = out[i]! / total;
});

export const logSoftmax = rowwise((data, out, start, length) => {
  const m = rowMax(data, start, length);
  let total = 0;
  for (let i = start; i < start + length; i++) total += Math.exp(data[i]! - m);
  const logTotal = Math.log(total) + m;
  for (let i = start; i < start + length; i++) out[i] = data[i]! - logTotal;
});

export function crossEntropy(logits: JsView, targets: JsView, ignoreIndex: number): TypedArray {
  const { data, rows, length } = axisLastData(logits, 1);
  const t = contiguousData(targets);
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const target = t[r]!;
    if (target === ignoreIndex) continue;
    const start = r * length;
    const m = rowMax(data, start, length);
    let total = 0;
    for (let i = start; i < start + length; i++) total += Math.exp(data[i]! - m);
    out[r] = Math.log(total) + m - data[start + target]!;
  }
  return out;
}

export function layerNorm(x: JsView, weight: JsView | null, bias: JsView | null, eps: number): TypedArray {
  const axis = x.shape.length - 1;
  const { data, rows, length } = axisLastData(x, axis);
  const w = weight ? contiguousData(weight) : null;
  const b = bias ? contiguousData(bias) : null;
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const start = r * length;
    let mean = 0;
    for (let i = 0; i < length; i++) mean += data[start + i]!;
    mean /= length;
    let variance = 0;
    for (let i = 0; i < length; i++) {
      const d = data[start + i]! - mean;
      variance += d * d;
    }
    const rstd = 1 / Math.sqrt(variance / length + eps);
    for (let i = 0; i < length; i++) {
      let v = (data[start + i]! - mean) * rstd;
      if (w) v *= w[i]!;
      if (b) v += b[i]!;
      out[start + i] = v;
    }
  }
  return out;
}

export function rmsNorm(x: JsView, weight: JsView | null, eps: number): TypedArray {
  const axis = x.shape.length - 1;
  const { data, rows, length } = axisLastData(x, axis);
  const w = weight ? contiguousData(weight) : null;
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const start = r * length;
    let squares = 0;
    for (let i = 0; i < length; i++) squares += data[start + i]! * data[start + i]!;
    const rrms = 1 / Math.sqrt(squares / length + eps);
    for (let i = 0; i < length; i++) out[start + i] = data[start + i]! * rrms * (w ? w[i]! : 1);
  }
  return out;
}
