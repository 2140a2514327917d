import type { BinaryKernelOp, CompareKernelOp, UnaryKernelOp } from '../../backend.ts';
import { allocArray, type DType, type TypedArray } from '../../dtype.ts';
import { isContiguous, sizeOf } from '../../shape.ts';
import { contiguousData, forEachOffset, type JsView } from './strided.ts';

type Scalar1 = (x: number) => number;
type Scalar2 = (a: number, b: number) => number;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** erf to float32 accuracy (Abramowitz–Stegun 7.1.26 is too coarse; this is a Chebyshev-fitted erfc). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

export const unaryFunctions: { [K in UnaryKernelOp]: Scalar1 } = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => Math.max(x, 0),
  erf,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
};

export const binaryFunctions: { [K in BinaryKernelOp]: Scalar2 } = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  // Math.max/min propagate NaN, as torch.maximum/minimum do.
  maximum: Math.max,
  minimum: Math.min,
};

export const compareFunctions: { [K in CompareKernelOp]: Scalar2 } = {
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

/** Flat map over contiguous data, unrolled four wide. */
function map1(src: TypedArray, out: TypedArray, f: Scalar1): void {
  const n = src.length;
  const n4 = n - (n % 4);
  let i = 0;
  for (; i < n4; i += 4) {
    out[i] = f(src[i]!);
    out[i + 1] = f(src[i + 1]!);
    out[i + 2] = f(src[i + 2]!);
    out[i + 3] = f(src[i + 3]!);
  }
  for (; i < n; i++) out[i] = f(src[i]!);
}

function map2(a: TypedArray, b: TypedArray, out: TypedArray, f: Scalar2): void {
  const n = out.length;
  const n4 = n - (n % 4);
  let i = 0;
  for (; i < n4; i += 4) {
    out[i] = f(a[i]!, b[i]!);
    out[i + 1] = f(a[i + 1]!, b[i + 1]!);
    out[i + 2] = f(a[i + 2]!, b[i + 2]!);
    out[i + 3] = f(a[i + 3]!, b[i + 3]!);
  }
  for (; i < n; i++) out[i] = f(a[i]!, b[i]!);
}

function isScalarBroadcast(x: JsView): boolean {
  return x.strides.every((s) => s === 0);
}

export function unary(f: Scalar1, dtype: DType | 'same' = 'same') {
  return (x: JsView): TypedArray => {
    const out = allocArray(dtype === 'same' ? x.dtype : dtype, sizeOf(x.shape));
    map1(contiguousData(x), out, f);
    return out;
  };
}

export function binary(f: Scalar2, dtype: DType | 'same' = 'same') {
  return (a: JsView, b: JsView): TypedArray => {
    const size = sizeOf(a.shape);
    const out = allocArray(dtype === 'same' ? a.dtype : dtype, size);
    if (size === 0) return out;
    // A broadcast scalar on either side is the most common broadcast: keep it out of the copy.
    if (isScalarBroadcast(b)) {
      const s = b.handle[b.offset]!;
      map1(contiguousData(a), out, (v) => f(v, s));
    } else if (isScalarBroadcast(a)) {
      const s = a.handle[a.offset]!;
      map1(contiguousData(b), out, (v) => f(s, v));
    } else {
      map2(contiguousData(a), contiguousData(b), out, f);
    }
    return out;
  };
}

export function where(cond: JsView, a: JsView, b: JsView): TypedArray {
  const c = contiguousData(cond);
  const av = contiguousData(a);
  const bv = contiguousData(b);
  const out = allocArray(a.dtype, c.length);
  for (let i = 0; i < c.length; i++) out[i] = c[i] !== 0 ? av[i]! : bv[i]!;
  return out;
}

export function clamp(x: JsView, min: number, max: number): TypedArray {
  return unary((v) => Math.min(Math.max(v, min), max))(x);
}

export function copy(x: JsView, dtype: DType): TypedArray {
  const src = contiguousData(x);
  const out = allocArray(dtype, src.length);
  if (dtype === 'int32' && x.dtype === 'float32') {
    for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  } else {
    out.set(src);
  }
  return out;
}

export function assign(dst: JsView, src: JsView): void {
  const values = contiguousData(src);
  const target = dst.handle;
  if (isContiguous(dst.shape, dst.strides)) {
    target.set(values, dst.offset);
    return;
  }
  forEachOffset(dst.shape, dst.strides, dst.offset, (i, o) => {
    target[o] = values[i]!;
  });
}

export function fill(dtype: DType, size: number, value: number): TypedArray {
  return allocArray(dtype, size).fill(value);
}
