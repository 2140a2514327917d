import { sizeOf } from '../../shape.ts';
import { hasRelaxedSimd } from './features.ts';
import { compiledModule, kernelModule } from './kernel-cache.ts';
import { buildGemmModule, type GemmConfig, gemmKey, gemmScratchBytes } from './matmul-kernel.ts';
import type { WasmBuffer } from './memory.ts';
import { wasmMemory } from './memory.ts';
import { threadPool } from './thread-pool.ts';
import { addressOf, allocElements, forEachOuter, type WasmView } from './views.ts';

/**
 * The tile and blocking measured best on x86-64 V8: a 4×8 tile (8 accumulators) keeps every
 * value in registers, where larger tiles or an unrolled k loop make the compiler hoist the loads
 * and spill; kc·NR·4 = 8 KiB of B stays in L1 and mc·kc·4 = 128 KiB of A in L2.
 */
export function gemmConfig(): GemmConfig {
  return { mr: 4, nr: 8, broadcast: 'a', unroll: 1, kc: 256, mc: 128, nc: 2048, fma: hasRelaxedSimd() };
}

/** Below this many multiply-adds a product runs on the calling thread alone. */
const PARALLEL_THRESHOLD = 1 << 20;
const GEMM_ARGS = 15;

interface Gemm {
  key: string;
  run: (...args: number[]) => void;
  /** Per thread: packed A, packed B and edge tile addresses. */
  scratch: Array<[number, number, number]>;
}

let gemm: Gemm | undefined;

function getGemm(): Gemm {
  if (gemm) return gemm;
  const cfg = gemmConfig();
  const key = gemmKey(cfg);
  const exports = kernelModule(key, (m) => buildGemmModule(m, cfg));
  gemm = { key, run: exports.gemm!, scratch: [] };
  // The engine compiles a hot function's optimised code in the background after enough calls;
  // a few hundred small micro-kernel calls now get that started before the first real product.
  const [packA, packB, tile] = scratchFor(gemm, 0);
  for (let i = 0; i < 400; i++) exports.micro!(packA, packB, tile, cfg.nr * 4, 32, 0);
  return gemm;
}

function scratchFor(g: Gemm, thread: number): [number, number, number] {
  while (g.scratch.length <= thread) {
    const bytes = gemmScratchBytes(gemmConfig());
    const memory = wasmMemory();
    g.scratch.push([memory.allocRaw(bytes.a), memory.allocRaw(bytes.b), memory.allocRaw(bytes.tile)]);
  }
  return g.scratch[thread]!;
}

/**
 * [...batch, m, k] @ [...batch, k, n] with the batch already broadcast: one GEMM call per batch
 * element (or per column or row slice of one large product), spread over the thread pool.
 */
export function matmul(a: WasmView, b: WasmView): WasmBuffer {
  const rank = a.shape.length;
  const [m, k] = [a.shape[rank - 2]!, a.shape[rank - 1]!];
  const n = b.shape[rank - 1]!;
  const batchShape = a.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const out = allocElements(batch * m * n);
  if (batch * m * n === 0) return out;
  const memory = wasmMemory();
  if (k === 0) {
    memory.f32.fill(0, out.ptr >>> 2, (out.ptr >>> 2) + batch * m * n);
    return out;
  }
  const g = getGemm();
  const [aRow, aCol] = [a.strides[rank - 2]! * 4, a.strides[rank - 1]! * 4];
  const [bRow, bCol] = [b.strides[rank - 2]! * 4, b.strides[rank - 1]! * 4];
  const aBase = addressOf(a);
  const bBase = addressOf(b);
  // Work items: [a, b, c, m, n0, n1] per batch element or slice; scratch is filled in per thread.
  const items: Array<[number, number, number, number, number, number]> = [];
  forEachOuter(batchShape, [a.strides.slice(0, -2), b.strides.slice(0, -2)], (i, [oa, ob]) => {
    items.push([aBase + oa! * 4, bBase + ob! * 4, out.ptr + i * m * n * 4, m, 0, n]);
  });
  const work = batch * m * n * k;
  const pool = work >= PARALLEL_THRESHOLD ? threadPool(g.key, compiledModule(g.key)!, 'gemm', GEMM_ARGS - 3, (t) => scratchFor(g, t)) : null;
  const threads = pool ? pool.size : 1;
  if (threads > 1 && items.length < 2 * threads) {
    // Too few batch elements to share: cut each product into column (or row) slices, two per
    // thread so that a thread the machine has descheduled delays the end by half its share.
    const parts = 2 * threads;
    const sliced: typeof items = [];
    for (const [pa, pb, pc, rows, , cols] of items) {
      if (cols >= rows) {
        const step = Math.ceil(cols / parts / 8) * 8;
        for (let n0 = 0; n0 < cols; n0 += step) sliced.push([pa, pb, pc, rows, n0, Math.min(cols, n0 + step)]);
      } else {
        const step = Math.ceil(rows / parts / 4) * 4;
        for (let m0 = 0; m0 < rows; m0 += step) sliced.push([pa + m0 * aRow, pb, pc + m0 * n * 4, Math.min(step, rows - m0), 0, cols]);
      }
    }
    items.splice(0, items.length, ...sliced);
  }
  const rows = items.map(([pa, pb, pc, rowsM, n0, n1]) => [pa, aRow, aCol, pb, bRow, bCol, pc, n * 4, rowsM, k, n0, n1]);
  if (!pool || threads === 1) {
    const scratch = scratchFor(g, 0);
    for (const args of rows) g.run(...args, ...scratch);
    return out;
  }
  pool.run(rows, (args) => g.run(...args));
  return out;
}
