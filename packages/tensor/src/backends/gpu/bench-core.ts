import type { Backend } from '../../backend.ts';
import { tensor } from '../../creation.ts';
import { matmul } from '../../ops/index.ts';
import type { Tensor } from '../../tensor.ts';
import { tidy } from '../../scope.ts';
import { readAsync } from './index.ts';
import { type BlockConfig, blockData, blockLoss, toTensor } from './tiny-block.ts';

// Timing loops shared by the Node benchmark and the browser page: every backend runs the same
// work, including the readback of the result, and a size is skipped once it would run too long.

export interface MatmulRow {
  size: number;
  /** Median milliseconds per product (readback included), or null when skipped as too slow. */
  ms: Record<string, number | null>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

async function timeIt(run: () => Promise<void>, reps: number): Promise<number> {
  await run(); // warm-up: compiles kernels
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

/**
 * Square matmuls on each backend. A backend is skipped at a size once the cubic extrapolation from
 * its previous size exceeds `budgetMs` per product.
 */
export async function benchMatmul(backends: Record<string, Backend<unknown>>, sizes: readonly number[], budgetMs: number): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  const last: Record<string, { size: number; ms: number } | null> = {};
  for (const size of sizes) {
    const row: MatmulRow = { size, ms: {} };
    for (const [name, backend] of Object.entries(backends)) {
      const prev = last[name];
      if (prev === null || (prev && prev.ms * (size / prev.size) ** 3 > budgetMs)) {
        row.ms[name] = null;
        last[name] = null;
        continue;
      }
      const a = tensor(values(size * size, 1), { shape: [size, size], backend });
      const b = tensor(values(size * size, 2), { shape: [size, size], backend });
      const reps = size <= 512 ? 5 : size <= 1024 ? 3 : 1;
      const ms = await timeIt(async () => {
        const c = matmul(a, b);
        await readAsync(c);
        c.dispose();
      }, reps);
      a.dispose();
      b.dispose();
      row.ms[name] = ms;
      last[name] = { size, ms };
    }
    rows.push(row);
  }
  return rows;
}

/** Median milliseconds of one forward and backward step of the block (loss read back), per backend. */
export async function benchStep(backends: Record<string, Backend<unknown>>, config: BlockConfig, reps: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const { params, ids, targets } = blockData(config, 3);
  for (const [name, backend] of Object.entries(backends)) {
    const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, toTensor(v, backend, true)]));
    const idsT = toTensor(ids, backend);
    const targetsT = toTensor(targets, backend);
    out[name] = await timeIt(async () => {
      const loss: Tensor = tidy(() => {
        for (const t of Object.values(p)) t.grad = null;
        const l = blockLoss(p, idsT, targetsT, config);
        l.backward();
        return l;
      });
      await readAsync(loss);
      loss.dispose();
    }, reps);
    for (const t of [...Object.values(p), idsT, targetsT]) t.dispose();
  }
  return out;
}

/** The smallest size at which `fast` beats `slow`, or null if it never does among those timed. */
export function crossover(rows: readonly MatmulRow[], fast: string, slow: string): number | null {
  for (const row of rows) {
    const f = row.ms[fast];
    const s = row.ms[slow];
    if (f != null && s != null && f < s) return row.size;
  }
  return null;
}
