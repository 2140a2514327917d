import type { Backend } from '../../../backend.ts';
import { tensor } from '../../../creation.ts';
import { matmul } from '../../../ops/index.ts';
import { jsBackend } from '../../js/index.ts';
import { wasmBackend } from '../index.ts';
import { setWasmThreads, wasmThreadStats, wasmThreads } from '../thread-pool.ts';

// The test page: large wasm products on the thread pool in this browser, checked against the js backend.

export interface ThreadsReport {
  isolated: boolean;
  threads: number;
  stats: ReturnType<typeof wasmThreadStats>;
  /** Products run before a worker had taken a row (workers start once the page yields). */
  tries: number;
  maxError: number;
}

const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 10));

function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function product(backend: Backend<unknown>, a: Float32Array, b: Float32Array, n: number): Float32Array {
  const t = (v: Float32Array) => tensor(v, { shape: [n, n], backend });
  return matmul(t(a), t(b)).data() as Float32Array;
}

const page = globalThis as unknown as Record<string, unknown>;

/** An n×n product on `threads` threads, repeated (yielding between) until a worker took a row or `tries` ran out. */
page.glassboxWasmThreads = async (threads: number, n: number, tries: number): Promise<ThreadsReport> => {
  setWasmThreads(threads);
  const a = values(n * n, 1);
  const b = values(n * n, 2);
  const want = product(jsBackend as unknown as Backend<unknown>, a, b, n);
  let maxError = 0;
  let tried = 0;
  while (tried < tries) {
    const got = product(wasmBackend as unknown as Backend<unknown>, a, b, n);
    tried++;
    for (let i = 0; i < want.length; i++) maxError = Math.max(maxError, Math.abs(got[i]! - want[i]!));
    if (wasmThreadStats().workerRows > 0) break;
    await yieldToPage();
  }
  return { isolated: globalThis.crossOriginIsolated, threads: wasmThreads(), stats: wasmThreadStats(), tries: tried, maxError };
};

/** Median milliseconds of an n×n wasm product per thread count, after the workers have started. */
page.glassboxWasmTiming = async (n: number, reps: number, counts: number[]): Promise<Record<number, number>> => {
  const a = values(n * n, 3);
  const b = values(n * n, 4);
  const times: Record<number, number> = {};
  for (const threads of counts) {
    setWasmThreads(threads);
    product(wasmBackend as unknown as Backend<unknown>, a, b, n);
    await yieldToPage();
    const ms: number[] = [];
    for (let r = 0; r < reps; r++) {
      const start = performance.now();
      product(wasmBackend as unknown as Backend<unknown>, a, b, n);
      ms.push(performance.now() - start);
    }
    times[threads] = ms.sort((x, y) => x - y)[reps >> 1]!;
  }
  return times;
};
