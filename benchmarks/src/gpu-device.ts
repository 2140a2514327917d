/**
 * The gpu backend on a real graphics device: gpu.js in webgpu mode through Dawn (the `webgpu`
 * package that gpu.js depends on, on Vulkan) in Node, against the wasm backend (one thread and one
 * per core) and the js backend on the same machine's CPU. Times square float32 matmuls from 256 to
 * 4096, elementwise ops, softmax and a transformer block step, and checks every result.
 *
 * Each gpu time is split three ways: `from host` (host inputs → product → host, inputs made afresh),
 * `round trip` (inputs already on the device: product and readback) and `per op` (the marginal cost
 * of one more op queued before the readback: device work alone). Where no WebGPU adapter answers, or
 * only a software one (SwiftShader, lavapipe), it says so and still times the CPU contenders.
 *
 * Run from benchmarks/, on a machine with a GPU and a Vulkan driver:
 *   pnpm exec tsx src/gpu-device.ts [--out results/gpu-device.json] [--max-size 4096]
 * and `--readme` (with the same --out) rewrites the README's gpu-device section from that file.
 * GLASSBOX_WEBGPU_MODULE names the `webgpu` package's index.js where gpu.js's copy cannot be found
 * (a bundled copy of this script, say); the gpu backend's node-webgpu.ts reads it.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, type Tensor, add, exp, gelu, gpu, matmul, setWasmThreads, softmax, tensor } from '../../packages/tensor/src/index.ts';
import { benchStep } from '../../packages/tensor/src/backends/gpu/bench-core.ts';
import { gpuBackend } from '../../packages/tensor/src/backends/gpu/index.ts';
import { jsBackend } from '../../packages/tensor/src/backends/js/index.ts';
import type { BlockConfig } from '../../packages/tensor/src/backends/gpu/tiny-block.ts';
import { wasmBackend } from '../../packages/tensor/src/backends/wasm/index.ts';
import { type Machine, README_PATH, RESULTS_DIR, describeMachine, fmt, markdownTable, median, replaceMarkedSection, writeJsonAtomic, seededValues } from './harness.ts';

const SIZES = [256, 512, 1024, 2048, 4096];
/** A contender is skipped at a size once its extrapolated round trip passes this. */
const BUDGET_MS = 6000;
/** Repetitions aim at about this much time per measurement (1 to 10 of them). */
const TARGET_MS = 1500;
/** Ops queued before one readback, for the marginal cost of one op on the device. */
const QUEUED = 8;
/** The same block as gpu.bench.ts, so the step rows compare. */
const BLOCK: BlockConfig = { dVocab: 64, dModel: 64, nHeads: 4, dMlp: 256, nCtx: 32, batch: 4 };
/** Matmul entries checked against float64 dot products, at every size and on every contender. */
const SPOT = 256;
/** Spot error bound, relative to Σ|a·b| over the dot product (float32 needs ~k·2⁻²⁴ in the worst case). */
const SPOT_TOL = 1e-4;

interface Contender {
  name: string;
  backend: Backend<unknown>;
  threads: number;
}

type Adapter = gpu.WebGpuAdapter;

interface Setup {
  /** Whether the gpu contender runs: a WebGPU adapter answered and gpu.js runs in webgpu mode. */
  ready: boolean;
  adapter: Adapter | null;
  software: boolean;
  /** Why the gpu contender is missing or suspect, in a sentence; null when all is well. */
  problem: string | null;
}

interface OpTiming {
  /** Median ms, inputs on the device: the op and the readback of its result. */
  roundTripMs: number;
  /** gpu only: median ms from host arrays (upload, op, readback). */
  uploadMs?: number;
  /** gpu only: marginal ms of one more op queued before a readback. */
  perOpMs?: number;
  /** The first call (kernel compilation and first upload included). */
  firstMs: number;
  /** Worst error of the checked entries (see each section for against what). */
  maxError: number;
  ok: boolean;
}

function nvidiaSmi(): string | null {
  const run = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30_000 });
  return run.status === 0 ? run.stdout.trim() : null;
}

/** gpu.js in webgpu mode through the backend's own setup (Dawn in Node); what the adapter is, or why there is none. */
async function setUpWebGpu(log: (line: string) => void): Promise<Setup> {
  let info: gpu.GpuInfo;
  try {
    info = await gpu.prepareGpu({ mode: 'webgpu' });
  } catch (cause) {
    if (!(cause instanceof gpu.WebGpuUnavailableError)) throw cause;
    return { ready: false, adapter: null, software: false, problem: cause.message };
  }
  const adapter = info.adapter;
  log(`adapter: ${JSON.stringify(adapter)}`);
  log(`gpuInfo: ${JSON.stringify(info)}`);
  if (info.mode !== 'webgpu' || !adapter) return { ready: false, adapter, software: false, problem: `gpu.js chose ${info.mode}, not webgpu` };
  return { ready: true, adapter, software: adapter.software, problem: adapter.software ? 'the adapter is a software renderer, not a GPU' : null };
}

/** Runs `work` once (untimed), then as many times as fit TARGET_MS (1 to 10); the median in ms and the first run's. */
async function time(work: () => Promise<void>): Promise<{ ms: number; firstMs: number }> {
  let start = performance.now();
  await work();
  const firstMs = performance.now() - start;
  start = performance.now();
  await work();
  const samples = [performance.now() - start];
  const reps = Math.max(1, Math.min(10, Math.floor(TARGET_MS / Math.max(samples[0]!, 1e-3))));
  for (let r = 1; r < reps; r++) {
    start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return { ms: median(samples), firstMs };
}

/** Times `op` on one contender: round trip, and for the gpu also from host arrays and per queued op. */
async function timeOp(c: Contender, inputs: readonly { data: Float32Array; shape: number[] }[], op: (...xs: Tensor[]) => Tensor): Promise<{ timing: Omit<OpTiming, 'maxError' | 'ok'>; result: Float32Array }> {
  setWasmThreads(c.threads);
  const onDevice = inputs.map((x) => tensor(x.data, { shape: x.shape, backend: c.backend }));
  let result: Float32Array = new Float32Array(0);
  const { ms: roundTripMs, firstMs } = await time(async () => {
    const y = op(...onDevice);
    result = (await gpu.readAsync(y)) as Float32Array;
    y.dispose();
  });
  const timing: Omit<OpTiming, 'maxError' | 'ok'> = { roundTripMs, firstMs };
  if (c.name === 'gpu') {
    timing.uploadMs = (
      await time(async () => {
        const fresh = inputs.map((x) => tensor(x.data, { shape: x.shape, backend: c.backend }));
        const y = op(...fresh);
        await gpu.readAsync(y);
        for (const t of [y, ...fresh]) t.dispose();
      })
    ).ms;
    const queued = await time(async () => {
      const ys = Array.from({ length: QUEUED }, () => op(...onDevice));
      await gpu.readAsync(ys[QUEUED - 1]!);
      for (const y of ys) y.dispose();
    });
    timing.perOpMs = Math.max(0, (queued.ms - roundTripMs) / (QUEUED - 1));
  }
  for (const t of onDevice) t.dispose();
  return { timing, result };
}

/** Worst |c − ref| over SPOT entries of a·b, each scaled by Σ|a_ik·b_kj|, with the reference in float64. */
function spotError(a: Float32Array, b: Float32Array, c: Float32Array, n: number): number {
  let worst = 0;
  for (let s = 0; s < SPOT; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104_729 + 13) % n;
    let dot = 0;
    let mass = 0;
    for (let k = 0; k < n; k++) {
      const p = a[i * n + k]! * b[k * n + j]!;
      dot += p;
      mass += Math.abs(p);
    }
    worst = Math.max(worst, Math.abs(c[i * n + j]! - dot) / Math.max(mass, 1e-30));
  }
  return worst;
}

/** Worst |x − ref| / (atol + rtol·|ref|); at most 1 means close. */
function closeness(x: Float32Array, ref: Float32Array, rtol: number, atol: number): number {
  if (x.length !== ref.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i]! - ref[i]!) / (atol + rtol * Math.abs(ref[i]!));
    if (!(e <= worst)) worst = e; // NaN propagates as a failure
  }
  return worst;
}

interface MatmulResult {
  size: number;
  /** null where the contender was skipped as too slow. */
  results: Record<string, OpTiming | null>;
  /** Worst error of each whole product against the js backend's, as a fraction of rtol = atol = 1e-4; where js ran. */
  jsAgreement: Record<string, number>;
}

interface OpResult {
  op: string;
  results: Record<string, OpTiming>;
}

type Failed = { error: string };

/** What one run writes to results/gpu-device.json. */
export interface DeviceReport {
  machine: Machine & { gpu: string | null };
  settings: Record<string, unknown>;
  webgpu?: Setup & { gpuInfo: gpu.GpuInfo | null };
  matmul?: MatmulResult[] | Failed;
  ops?: OpResult[] | Failed;
  step?: Record<string, number> | Failed;
  gpuStats?: unknown;
}

async function benchMatmuls(contenders: readonly Contender[], sizes: readonly number[], log: (line: string) => void): Promise<MatmulResult[]> {
  const rows: MatmulResult[] = [];
  const last: Record<string, { size: number; ms: number } | null> = {};
  for (const size of sizes) {
    const a = seededValues(size * size, 1);
    const b = seededValues(size * size, 2);
    const results: Record<string, OpTiming | null> = {};
    const outputs: Record<string, Float32Array> = {};
    for (const c of contenders) {
      const prev = last[c.name];
      if (prev === null || (prev && prev.ms * (size / prev.size) ** 3 > BUDGET_MS)) {
        results[c.name] = last[c.name] = null;
        continue;
      }
      const { timing, result } = await timeOp(c, [{ data: a, shape: [size, size] }, { data: b, shape: [size, size] }], matmul);
      const maxError = spotError(a, b, result, size);
      results[c.name] = { ...timing, maxError, ok: maxError <= SPOT_TOL };
      outputs[c.name] = result;
      last[c.name] = { size, ms: timing.roundTripMs };
      log(`matmul ${size} ${c.name}: ${fmt(timing.roundTripMs)} ms round trip${timing.perOpMs === undefined ? '' : `, ${fmt(timing.perOpMs)} ms per queued op, ${fmt(timing.uploadMs!)} ms with upload`}; spot error ${maxError.toExponential(2)}`);
    }
    // The whole product against the js backend's, where js ran.
    const jsAgreement: Record<string, number> = {};
    if (outputs.js) for (const [name, out] of Object.entries(outputs)) if (name !== 'js') jsAgreement[name] = closeness(out, outputs.js, 1e-4, 1e-4);
    rows.push({ size, results, jsAgreement });
  }
  return rows;
}

const ELEMENTS = 4 * 1024 * 1024;
const OPS: { name: string; shape: number[]; arity: number; run: (...xs: Tensor[]) => Tensor }[] = [
  { name: 'add', shape: [ELEMENTS], arity: 2, run: (x, y) => add(x!, y!) },
  { name: 'exp', shape: [ELEMENTS], arity: 1, run: (x) => exp(x!) },
  { name: 'gelu', shape: [ELEMENTS], arity: 1, run: (x) => gelu(x!) },
  { name: 'softmax (rows of 4096)', shape: [ELEMENTS / 4096, 4096], arity: 1, run: (x) => softmax(x!, -1) },
];

async function benchOps(contenders: readonly Contender[], log: (line: string) => void): Promise<OpResult[]> {
  const rows: OpResult[] = [];
  for (const op of OPS) {
    const inputs = Array.from({ length: op.arity }, (_, i) => ({ data: seededValues(ELEMENTS, 10 + i), shape: op.shape }));
    const timed: Record<string, Omit<OpTiming, 'maxError' | 'ok'>> = {};
    const outputs: Record<string, Float32Array> = {};
    // js first: the reference every other result is checked against.
    for (const c of [...contenders].sort((x, y) => Number(y.name === 'js') - Number(x.name === 'js'))) {
      const { timing, result } = await timeOp(c, inputs, op.run);
      timed[c.name] = timing;
      outputs[c.name] = result;
    }
    const results: Record<string, OpTiming> = {};
    for (const c of contenders) {
      const maxError = closeness(outputs[c.name]!, outputs.js!, 1e-4, 1e-6);
      results[c.name] = { ...timed[c.name]!, maxError, ok: maxError <= 1 };
      log(`${op.name} ${c.name}: ${fmt(results[c.name]!.roundTripMs)} ms round trip${timed[c.name]!.perOpMs === undefined ? '' : `, ${fmt(timed[c.name]!.perOpMs!)} ms per queued op`}; vs js ${fmt(maxError)} of tolerance`);
    }
    rows.push({ op: op.name, results });
  }
  return rows;
}

function failed<T>(x: T | Failed | undefined): x is Failed | undefined {
  return x === undefined || 'error' in (x as object);
}

function cell(t: OpTiming | null | undefined, pick: (t: OpTiming) => number | undefined = (x) => x.roundTripMs): string {
  if (t === undefined) return '—';
  if (t === null) return 'skipped';
  const v = pick(t);
  return v === undefined ? '—' : `${v === 0 ? '≈0' : fmt(v)}${t.ok ? '' : ' ✗'}`;
}

/** The smallest size at which `pick` of the gpu beats the fastest round trip of `others`, or 'never'. */
function crossoverAt(rows: readonly MatmulResult[], others: readonly string[], pick: (t: OpTiming) => number | undefined): string {
  for (const row of rows) {
    const g = row.results.gpu;
    const v = g ? pick(g) : undefined;
    const best = Math.min(...others.map((o) => row.results[o]?.roundTripMs ?? Number.POSITIVE_INFINITY));
    if (v !== undefined && v < best) return String(row.size);
  }
  return 'never';
}

/** The README section for one device run: machine, matmul and op tables, step, crossovers and checks. */
export function deviceMarkdown(report: DeviceReport): string {
  const { machine } = report;
  const setup = report.webgpu;
  const adapter = setup?.adapter;
  const wasmN = `wasm ×${machine.cores}`;
  const out: string[] = [
    `Measured ${machine.date.slice(0, 10)} in Node ${machine.node}: gpu.js in webgpu mode through Dawn (the \`webgpu\` package, on Vulkan)${adapter ? ` on the adapter "${adapter.device}" (${adapter.description})` : ''}; nvidia-smi: ${machine.gpu ?? 'absent'}. CPU contenders on ${machine.cpu} (${machine.cores} cores, ${machine.totalMemoryGiB} GiB).`,
  ];
  if (!setup?.ready || setup.software) out.push('', `**No real-GPU figures in this run**: ${setup?.problem ?? 'webgpu was not set up'}.`);
  const matmul = report.matmul;
  if (failed(matmul)) out.push('', `Matmul section failed: ${matmul?.error ?? 'not run'}.`);
  else {
    const gflops = (size: number) => (t: OpTiming) => (t.perOpMs ? (2 * size ** 3) / t.perOpMs / 1e6 : undefined);
    const rows = matmul.map((r) => {
      const g = r.results.gpu;
      const rate = g ? gflops(r.size)(g) : undefined;
      return [String(r.size), cell(g, (t) => t.uploadMs), cell(g), cell(g, (t) => t.perOpMs), rate === undefined ? '—' : fmt(rate), cell(r.results[wasmN]), cell(r.results['wasm ×1']), cell(r.results.js)];
    });
    out.push(
      '',
      'Milliseconds per square float32 matmul (median). *gpu from host* uploads both inputs, multiplies and reads the product back; *gpu round trip* starts with the inputs on the device; *gpu per op* is the marginal cost of one more product queued before one readback, the device work alone (≈0: lost in the spread of the readback), and GFLOP/s is taken from it. The CPU contenders start with their inputs in place and read the product back.',
      '',
      markdownTable(['size', 'gpu from host', 'gpu round trip', 'gpu per op', 'gpu GFLOP/s per op', wasmN, 'wasm ×1', 'js'], rows, 'rrrrrrrr'),
      '',
      `gpu beats the faster wasm from ${crossoverAt(matmul, [wasmN, 'wasm ×1'], (t) => t.roundTripMs)} (round trip) and from ${crossoverAt(matmul, [wasmN, 'wasm ×1'], (t) => t.uploadMs)} (from host); it beats js from ${crossoverAt(matmul, ['js'], (t) => t.roundTripMs)}.`,
    );
  }
  const ops = report.ops;
  if (failed(ops)) out.push('', `Elementwise section failed: ${ops?.error ?? 'not run'}.`);
  else {
    const rows = ops.map((r) => [r.op, cell(r.results.gpu), cell(r.results.gpu, (t) => t.perOpMs), cell(r.results[wasmN]), cell(r.results['wasm ×1']), cell(r.results.js)]);
    out.push('', `Milliseconds per op on 4 Mi float32 (median, inputs in place, result read back):`, '', markdownTable(['op', 'gpu round trip', 'gpu per op', wasmN, 'wasm ×1', 'js'], rows, 'lrrrrr'));
  }
  const step = report.step;
  if (failed(step)) out.push('', `Step section failed: ${step?.error ?? 'not run'}.`);
  else {
    const names = Object.keys(step);
    out.push('', 'Milliseconds per forward and backward step of the transformer block above (loss read back):', '', markdownTable(names, [names.map((n) => fmt(step[n]!))], names.map(() => 'r').join('')));
  }
  const bad = [
    ...(failed(matmul) ? [] : matmul.flatMap((r) => Object.entries(r.results).filter(([, t]) => t && !t.ok).map(([n]) => `matmul ${r.size} ${n}`))),
    ...(failed(matmul) ? [] : matmul.flatMap((r) => Object.entries(r.jsAgreement).filter(([, e]) => !(e <= 1)).map(([n]) => `matmul ${r.size} ${n} vs js`))),
    ...(failed(ops) ? [] : ops.flatMap((r) => Object.entries(r.results).filter(([, t]) => !t.ok).map(([n]) => `${r.op} ${n}`))),
  ];
  out.push(
    '',
    `Checks: ${SPOT} entries of every product against float64 dot products (error at most ${SPOT_TOL} of Σ|a·b|), every whole product against js's where js ran, and every op's output against js's (rtol 1e-4, atol 1e-6): ${bad.length === 0 ? 'all passed' : `failed for ${bad.join(', ')} (marked ✗)`}.`,
  );
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 && args[outAt + 1] ? args[outAt + 1]! : join(RESULTS_DIR, 'gpu-device.json');
  const maxAt = args.indexOf('--max-size');
  const sizes = SIZES.filter((s) => maxAt < 0 || s <= Number(args[maxAt + 1]));
  if (args.includes('--readme')) {
    replaceMarkedSection(README_PATH, 'gpu-device', deviceMarkdown(JSON.parse(readFileSync(out, 'utf8')) as DeviceReport));
    console.log(`wrote the gpu-device section of ${README_PATH} from ${out}`);
    return;
  }
  const log = (line: string) => console.log(line);
  const cores = os.cpus().length;
  const report: DeviceReport = {
    machine: { ...describeMachine(), gpu: nvidiaSmi() },
    settings: { sizes, budgetMs: BUDGET_MS, queued: QUEUED, elements: ELEMENTS, block: BLOCK, spotEntries: SPOT, spotTolerance: SPOT_TOL },
  };
  const save = () => writeJsonAtomic(out, report);
  log(`machine: ${JSON.stringify(report.machine)}`);
  const setup = await setUpWebGpu(log).catch((cause): Setup => ({ ready: false, adapter: null, software: false, problem: `webgpu setup failed: ${cause instanceof Error ? cause.message : String(cause)}` }));
  report.webgpu = { ...setup, gpuInfo: setup.ready ? gpu.gpuInfo() : null };
  if (setup.problem) log(`NOTE: ${setup.problem}${setup.ready ? '' : '; timing the CPU contenders only'}`);
  save();

  const contenders: Contender[] = [
    ...(setup.ready ? [{ name: 'gpu', backend: gpuBackend as Backend<unknown>, threads: cores }] : []),
    { name: `wasm ×${cores}`, backend: wasmBackend as Backend<unknown>, threads: cores },
    ...(cores > 1 ? [{ name: 'wasm ×1', backend: wasmBackend as Backend<unknown>, threads: 1 }] : []),
    { name: 'js', backend: jsBackend as Backend<unknown>, threads: 1 },
  ];
  const attempt = async <T>(name: string, run: () => Promise<T>): Promise<T | Failed> => {
    try {
      return await run();
    } catch (cause) {
      log(`${name} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
      return { error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) };
    } finally {
      report.gpuStats = setup.ready ? gpu.gpuMemory() : null;
    }
  };
  report.matmul = await attempt('matmul', () => benchMatmuls(contenders, sizes, log));
  save();
  report.ops = await attempt('ops', () => benchOps(contenders, log));
  save();
  report.step = await attempt('step', async () => {
    setWasmThreads(cores);
    const backends = Object.fromEntries(contenders.filter((c) => c.name !== 'wasm ×1').map((c) => [c.name, c.backend]));
    const step = await benchStep(backends, BLOCK, 3);
    log(`step: ${JSON.stringify(step)}`);
    return step;
  });
  save();
  console.log(`\n${deviceMarkdown(report)}\n`);
  log(`wrote ${out}`);
}

// Run only as a script, not when imported. Dawn's instance and the wasm worker threads keep the
// event loop alive: leave explicitly.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
  () => process.exit(0),
    (cause) => {
      console.error(cause);
      process.exit(1);
    },
  );
}
