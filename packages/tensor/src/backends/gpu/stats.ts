/**
 * Counters of the gpu backend. Device memory is what the backend allocated and has not freed:
 * one float32 texture or buffer per live tensor buffer (a typed array in the CPU fallback modes).
 */
export interface GpuStats {
  liveBuffers: number;
  liveBytes: number;
  peakBytes: number;
  /** Kernel launches on the device (uploads not included). */
  launches: number;
  /** Distinct kernels compiled. */
  compiled: number;
  uploads: number;
  readbacks: number;
  /** Kernels run on the CPU by the js reference, per kernel name: shapes or values the device path does not take. */
  fallbacks: Record<string, number>;
  /** Kernels gpu.js itself moved to its CPU kernel (a shader that failed to build), per kernel name. */
  degraded: Record<string, number>;
}

export const gpuStats: GpuStats = {
  liveBuffers: 0,
  liveBytes: 0,
  peakBytes: 0,
  launches: 0,
  compiled: 0,
  uploads: 0,
  readbacks: 0,
  fallbacks: {},
  degraded: {},
};

/** A snapshot of the counters. */
export function gpuMemory(): Readonly<GpuStats> {
  return { ...gpuStats, fallbacks: { ...gpuStats.fallbacks }, degraded: { ...gpuStats.degraded } };
}

/** Zeroes the event counters (launches, uploads, readbacks, fallbacks); live memory is left as it is. */
export function resetGpuCounters(): void {
  gpuStats.launches = 0;
  gpuStats.uploads = 0;
  gpuStats.readbacks = 0;
  gpuStats.peakBytes = gpuStats.liveBytes;
  gpuStats.fallbacks = {};
  gpuStats.degraded = {};
}

export function countFallback(op: string): void {
  gpuStats.fallbacks[op] = (gpuStats.fallbacks[op] ?? 0) + 1;
}
