import type { Tensor } from '@glassbox/tensor';

export interface Tolerance {
  /** Relative tolerance, as numpy.allclose's rtol. */
  rtol?: number;
  /** Absolute tolerance, as numpy.allclose's atol. */
  atol?: number;
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
}

/** numpy.allclose semantics: |actual − expected| <= atol + rtol·|expected|; NaN matches NaN, ±Inf match exactly. */
export function findMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, { rtol = 1e-5, atol = 1e-6 }: Tolerance = {}): Mismatch | null {
  if (actual.length !== expected.length) return { index: -1, actual: actual.length, expected: expected.length };
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= atol + rtol * Math.abs(e)) continue;
    return { index: i, actual: a, expected: e };
  }
  return null;
}

/** Throws with the first mismatching element and the tolerance, so a failure says where and by how much. */
export function assertAllClose(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance = {}, label = 'values'): void {
  const values = 'data' in actual && typeof actual.data === 'function' ? actual.data() : (actual as ArrayLike<number>);
  const mismatch = findMismatch(values, expected, tolerance);
  if (!mismatch) return;
  if (mismatch.index === -1) throw new Error(`${label}: length ${mismatch.actual}, expected ${mismatch.expected}`);
  const { rtol = 1e-5, atol = 1e-6 } = tolerance;
  throw new Error(
    `${label}: element ${mismatch.index} is ${mismatch.actual}, expected ${mismatch.expected} (|diff| ${Math.abs(mismatch.actual - mismatch.expected).toExponential(3)} > atol ${atol} + rtol ${rtol}·|expected|)`,
  );
}
