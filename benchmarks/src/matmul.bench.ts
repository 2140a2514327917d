/**
 * Square float32 matmul: Glassbox's reference CPU kernel against @tensorflow/tfjs-backend-cpu, both
 * single-threaded plain JavaScript.
 */

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The kernel is called directly for now; it will be reached through the public tensor API later.
import { matmulF32 } from '../../packages/tensor/src/backends/js/matmul.ts';
import { type Benchmark, describeMachine, fmt, markdownTable, type Timing, timeInterleaved, seededValues } from './harness.ts';

const SIZES = [256, 512, 1024, 2048] as const;
/** Fewer repetitions as the cost grows cubically. */
const REPS: Record<number, number> = { 256: 15, 512: 9, 1024: 5, 2048: 3 };
const WARMUP: Record<number, number> = { 256: 3, 512: 2, 1024: 1, 2048: 1 };

/** The reference kernel should reach this at 1024³ on a 2-core machine. */
const TARGET = { size: 1024, gflops: 3 };

/**
 * One contender's timings. The headline numbers use the process's CPU time: on a shared machine the
 * process is often descheduled while other jobs hold the cores, which inflates wall-clock time by
 * whatever the load happens to be, while CPU time tracks the kernel itself (both are single-threaded).
 */
interface Side {
  /** Median CPU seconds (user + system) per product. */
  medianCpuSeconds: number;
  /** From the CPU-time median. */
  gflops: number;
  samplesCpuSeconds: number[];
  /** Median wall-clock seconds per product. */
  medianWallSeconds: number;
  /** From the wall-clock median. */
  gflopsWall: number;
  samplesWallSeconds: number[];
}

interface MatmulCase {
  m: number;
  k: number;
  n: number;
  dtype: 'float32';
  warmup: number;
  reps: number;
  glassbox: Side;
  tfjsCpu: Side;
  /** Glassbox GFLOP/s over tfjs-cpu GFLOP/s, on CPU time: above 1 means Glassbox is faster. */
  ratio: number;
  /** The same ratio on wall-clock time. */
  ratioWall: number;
  /** Largest |Glassbox - tfjs| over the output, a guard against timing a wrong result. */
  maxAbsDiff: number;
}

function side(t: Timing, flops: number): Side {
  return {
    medianCpuSeconds: t.medianCpuSeconds,
    gflops: flops / t.medianCpuSeconds / 1e9,
    samplesCpuSeconds: t.samplesCpuSeconds,
    medianWallSeconds: t.medianSeconds,
    gflopsWall: flops / t.medianSeconds / 1e9,
    samplesWallSeconds: t.samplesSeconds,
  };
}

function runCase(size: number, log: (line: string) => void): MatmulCase {
  const m = size;
  const k = size;
  const n = size;
  const aData = seededValues(m * k, size * 7 + 1);
  const bData = seededValues(k * n, size * 7 + 2);
  const aT = tf.tensor2d(aData, [m, k], 'float32');
  const bT = tf.tensor2d(bData, [k, n], 'float32');

  let glassboxOut: Float32Array = new Float32Array(0);
  let tfjsOut: Float32Array = new Float32Array(0);
  const contenders = {
    glassbox: () => {
      glassboxOut = new Float32Array(m * n);
      matmulF32(aData, 0, [0, k, 1], bData, 0, [0, n, 1], glassboxOut, 1, m, k, n);
    },
    tfjsCpu: () => {
      const c = tf.matMul(aT, bT);
      tfjsOut = c.dataSync() as Float32Array;
      c.dispose();
    },
  };
  const warmup = WARMUP[size] ?? 1;
  const reps = REPS[size] ?? 3;
  log(`matmul ${size}³: ${warmup} warm-up + ${reps} timed runs each`);
  const timings = timeInterleaved(contenders, { warmup, reps });
  aT.dispose();
  bT.dispose();

  let maxAbsDiff = 0;
  for (let i = 0; i < m * n; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(glassboxOut[i]! - tfjsOut[i]!));
  // Entries are sums of `size` products of magnitude < 1: float32 rounding stays far below this.
  if (!(maxAbsDiff < 1e-3 * Math.sqrt(size))) throw new Error(`matmul ${size}³: results differ by ${maxAbsDiff}`);

  const flops = 2 * m * k * n;
  const glassbox = side(timings.glassbox, flops);
  const tfjsCpu = side(timings.tfjsCpu, flops);
  const result: MatmulCase = {
    m,
    k,
    n,
    dtype: 'float32',
    warmup,
    reps,
    glassbox,
    tfjsCpu,
    ratio: glassbox.gflops / tfjsCpu.gflops,
    ratioWall: glassbox.gflopsWall / tfjsCpu.gflopsWall,
    maxAbsDiff,
  };
  log(
    `  glassbox ${fmt(glassbox.gflops)} GFLOP/s, tfjs-cpu ${fmt(tfjsCpu.gflops)} GFLOP/s, ratio ${fmt(result.ratio)}` +
      ` (wall-clock: ${fmt(glassbox.gflopsWall)} and ${fmt(tfjsCpu.gflopsWall)} GFLOP/s)`,
  );
  return result;
}

export const matmulBenchmark: Benchmark = {
  name: 'matmul',
  description: 'Square float32 matmul, Glassbox reference CPU kernel vs @tensorflow/tfjs-backend-cpu',
  async run(log) {
    await tf.setBackend('cpu');
    await tf.ready();
    const machine = describeMachine();
    const cases = SIZES.map((size) => runCase(size, log));

    const atTarget = cases.find((c) => c.m === TARGET.size);
    const met = atTarget !== undefined && atTarget.glassbox.gflops >= TARGET.gflops;
    const json = {
      benchmark: 'matmul',
      description: matmulBenchmark.description,
      machine,
      versions: { tfjsCore: tf.version_core },
      target: { size: TARGET.size, gflops: TARGET.gflops, met },
      cases,
    };

    const table = markdownTable(
      [
        'Size (m = k = n)',
        'Glassbox median (s)',
        'Glassbox GFLOP/s',
        'tfjs-cpu median (s)',
        'tfjs-cpu GFLOP/s',
        'Glassbox / tfjs-cpu',
        'Wall-clock GFLOP/s, Glassbox / tfjs-cpu',
      ],
      cases.map((c) => [
        String(c.m),
        fmt(c.glassbox.medianCpuSeconds),
        fmt(c.glassbox.gflops),
        fmt(c.tfjsCpu.medianCpuSeconds),
        fmt(c.tfjsCpu.gflops),
        `${fmt(c.ratio)}×`,
        `${fmt(c.glassbox.gflopsWall)} / ${fmt(c.tfjsCpu.gflopsWall)}`,
      ]),
      'rrrrrrr',
    );
    const markdown = [
      `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ` +
        `tfjs-core ${tf.version_core}; 1-minute load average ${machine.loadAverage1m} at the start.`,
      '',
      table,
      '',
      'Medians and GFLOP/s are on the process\'s CPU time; the last column gives wall-clock rates, which fall',
      'below them by as much as other jobs kept this process off the cores. `results/matmul.json` holds every sample.',
      '',
      `Target ≥ ${TARGET.gflops} GFLOP/s at ${TARGET.size}³: **${met ? 'met' : 'not met'}**` +
        (atTarget
          ? ` (${fmt(atTarget.glassbox.gflops)} GFLOP/s on CPU time, ${fmt(atTarget.glassbox.gflopsWall)} GFLOP/s wall-clock).`
          : '.'),
    ].join('\n');
    return { json, markdown };
  },
};
