import { ValueError } from '@glassbox/tensor';

export interface GeometricMedianOptions {
  /** Weiszfeld iterations at most; default 100. */
  maxIterations?: number;
  /** Stop when the estimate moves less than this, relative to its norm; default 1e-5. */
  tolerance?: number;
}

/**
 * The point minimising the sum of Euclidean distances to the rows of `points` [n, d], by
 * Weiszfeld's iteration from the mean (in float64). Less pulled by outliers than the mean, which
 * is why it is a common b_dec initialisation. // -> [d]
 */
export function geometricMedian(points: Float32Array, n: number, d: number, options: GeometricMedianOptions = {}): Float32Array {
  const { maxIterations = 100, tolerance = 1e-5 } = options;
  if (n < 1 || points.length !== n * d) {
    throw new ValueError('points do not match n × d', { op: 'geometricMedian', arg: 'points', expected: `${n} × ${d} values with n >= 1`, given: `${points.length} values` });
  }
  let y: Float64Array = meanRows(points, n, d);
  const next = new Float64Array(d);
  for (let it = 0; it < maxIterations; it++) {
    next.fill(0);
    let totalWeight = 0;
    for (let r = 0; r < n; r++) {
      const base = r * d;
      let dist = 0;
      for (let j = 0; j < d; j++) {
        const diff = points[base + j]! - y[j]!;
        dist += diff * diff;
      }
      // A point on the estimate would get infinite weight; a floor keeps the step defined.
      const w = 1 / Math.max(Math.sqrt(dist), 1e-12);
      totalWeight += w;
      for (let j = 0; j < d; j++) next[j] = next[j]! + w * points[base + j]!;
    }
    let moved = 0;
    let size = 0;
    for (let j = 0; j < d; j++) {
      const v = next[j]! / totalWeight;
      moved += (v - y[j]!) ** 2;
      size += v * v;
      next[j] = v;
    }
    y = Float64Array.from(next);
    if (Math.sqrt(moved) <= tolerance * Math.max(Math.sqrt(size), 1e-12)) break;
  }
  return Float32Array.from(y);
}

/** Column means of [n, d] rows, in float64. */
export function meanRows(points: Float32Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + points[r * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / n;
  return mean;
}
