// Temporary naive kernel; replaced by the blocked kernel.
export function matmulF32(
  a: Float32Array, aOffset: number, aStrides: readonly [number, number, number],
  b: Float32Array, bOffset: number, bStrides: readonly [number, number, number],
  out: Float32Array, batch: number, m: number, k: number, n: number,
): void {
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[aOffset + t * aStrides[0] + i * aStrides[1] + p * aStrides[2]]! * b[bOffset + t * bStrides[0] + p * bStrides[1] + j * bStrides[2]]!;
        out[t * m * n + i * n + j] = s;
      }
}
