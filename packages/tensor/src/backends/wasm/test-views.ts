import type { View } from '../../backend.ts';
import type { DType, TypedArray } from '../../dtype.ts';
import { jsBackend } from '../js/index.ts';
import type { WasmBuffer } from './memory.ts';
import { wasmBackend } from './index.ts';

/** Test support: the same strided views over the same data on the js and wasm backends. */

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Layout = 'contiguous' | 'permuted' | 'broadcast' | 'stepped' | 'flipped' | 'mixed';
export const LAYOUTS: readonly Layout[] = ['contiguous', 'permuted', 'broadcast', 'stepped', 'flipped', 'mixed'];

export interface Pair {
  js: View<TypedArray>;
  wasm: View<WasmBuffer>;
}

/** Strides and offset for `shape` under a layout, and the backing size they need. */
function layoutOf(random: () => number, shape: readonly number[], layout: Layout): { strides: number[]; offset: number; size: number } {
  const rank = shape.length;
  const order = [...shape.keys()];
  const any = layout === 'mixed';
  if (layout === 'permuted' || (any && random() < 0.5)) order.sort(() => random() - 0.5);
  const steps = shape.map(() => (layout === 'stepped' || (any && random() < 0.3) ? 2 : 1));
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = order[i]!;
    strides[d] = stride * steps[d]!;
    stride *= shape[d]! * steps[d]! + (layout === 'stepped' ? 1 : 0);
  }
  if (layout === 'broadcast' || (any && random() < 0.4)) {
    shape.forEach((n, d) => {
      if (n > 1 && random() < 0.5) strides[d] = 0;
    });
  }
  if (layout === 'flipped' || (any && random() < 0.3)) {
    shape.forEach((_, d) => {
      if (random() < 0.6) strides[d] = -strides[d]!;
    });
  }
  let offset = 3;
  let extent = 0;
  shape.forEach((n, d) => {
    const s = strides[d]!;
    if (s < 0) offset += -s * Math.max(n - 1, 0);
    else extent += s * Math.max(n - 1, 0);
  });
  return { strides, offset, size: offset + extent + 4 };
}

export type ValueKind = 'normal' | 'positive' | 'special' | 'int' | 'wide';

export function fillValues(random: () => number, size: number, dtype: DType, kind: ValueKind): TypedArray {
  const data = dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
  const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e-40, -1e-40, 1e30, -1e30, 88.5, -88.5, 1e-8];
  for (let i = 0; i < size; i++) {
    const g = (random() + random() + random() - 1.5) * 4;
    if (dtype === 'int32') data[i] = Math.round(g * 5);
    else if (kind === 'positive') data[i] = Math.exp(g * 3);
    else if (kind === 'wide') data[i] = g * 30;
    else if (kind === 'special' && random() < 0.3) data[i] = specials[Math.floor(random() * specials.length)]!;
    else data[i] = g;
  }
  return data;
}

/** One view on each backend over identical backing data. */
export function pair(random: () => number, shape: readonly number[], layout: Layout, dtype: DType = 'float32', kind: ValueKind = 'normal'): Pair {
  const { strides, offset, size } = layoutOf(random, shape, layout);
  const data = fillValues(random, size, dtype, kind);
  const jsHandle = jsBackend.allocate(dtype, size);
  jsBackend.write(jsHandle, data);
  const wasmHandle = wasmBackend.allocate(dtype, size);
  wasmBackend.write(wasmHandle, data);
  return {
    js: { handle: jsHandle, dtype, shape, strides, offset },
    wasm: { handle: wasmHandle, dtype, shape, strides, offset },
  };
}

/** The first element where |a − e| > atol + rtol·|e| (NaN matches NaN, infinities match exactly), or null. */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) return `element ${i}: ${a}, expected ${e}`;
  }
  return null;
}

export function readWasm(handle: WasmBuffer, dtype: DType, size: number): TypedArray {
  return wasmBackend.read(handle, dtype).subarray(0, size);
}
