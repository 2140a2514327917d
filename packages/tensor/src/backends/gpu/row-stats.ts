import { contiguousStrides } from '../../shape.ts';
import type { GpuBuffer } from './buffer.ts';
import { type GpuView, reduceKernel } from './kernel-factory.ts';

/** A buffer holding the output-shaped `stats` viewed as x's shape, broadcast (stride 0) along `axis`. */
export function alongAxis(stats: GpuBuffer, shape: readonly number[], axis: number): GpuView {
  const kept = shape.filter((_, a) => a !== axis);
  const keptStrides = contiguousStrides(kept);
  const strides = shape.map((_, a) => (a === axis ? 0 : keptStrides[a < axis ? a : a - 1]!));
  return { handle: stats, dtype: stats.dtype, shape, strides, offset: 0 };
}

/** The contiguous view of a whole buffer of the given shape. */
export function whole(buffer: GpuBuffer, shape: readonly number[]): GpuView {
  return { handle: buffer, dtype: buffer.dtype, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** Runs `fn` and frees the temporaries it lists afterwards (under webgpu, once their readers ran). */
export function withTemps<T>(fn: (temps: GpuBuffer[]) => T): T {
  const temps: GpuBuffer[] = [];
  try {
    return fn(temps);
  } finally {
    for (const t of temps) t.free();
  }
}

// Kahan-compensated accumulation: float32 sums then stay within a few ulps of the js reference's float64 ones.
export const KAHAN_INIT = 'let acc = 0.0;\nlet comp = 0.0;';
// Once the sum is infinite (or NaN) the compensation is dropped, so Inf - Inf cannot turn it into NaN.
export const kahanAdd = (term: string): string =>
  `const y = (${term}) - comp;\nconst t = acc + y;\ncomp = Math.abs(t) <= 3.4028234e38 ? (t - acc) - y : 0.0;\nacc = t;`;

/** Row maximum that ignores NaN and -Inf, and is 0 for a row with nothing else (the js reference's rowMax). */
export function rowMax(x: GpuView, axis: number): GpuBuffer {
  return reduceKernel('rowMax', x, [axis], 'float32', {
    init: 'let m = 0.0;\nlet has = 0.0;',
    step: 'if (v > -3.4028234e38 && (has === 0.0 || v > m)) { m = v; has = 1.0; }',
    result: 'm',
  });
}

/** Σ exp(v - max) along axis, given the row maxima. */
export function rowSumExp(x: GpuView, axis: number, max: GpuBuffer): GpuBuffer {
  const kept = x.shape.filter((_, a) => a !== axis);
  return reduceKernel('rowSumExp', x, [axis], 'float32', { init: KAHAN_INIT, step: kahanAdd('Math.exp(v - e0)'), result: 'acc' }, [whole(max, kept)]);
}
