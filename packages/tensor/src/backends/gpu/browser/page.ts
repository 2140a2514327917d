import type { Backend } from '../../../backend.ts';
import { type GoldenCase, type GoldenFile, type GoldenTensor, OP_CASES, decodeValues } from '../../../conformance/op-cases.ts';
import { tensor } from '../../../creation.ts';
import { add, mul, sum } from '../../../ops/index.ts';
import type { Tensor } from '../../../tensor.ts';
import { jsBackend } from '../../js/index.ts';
import { tidy } from '../../../scope.ts';
import { type GpuMode, configureGpu, gpuBackend, gpuMemory, gpuFallbackErrors, readAsync } from '../index.ts';
import { TINY_BLOCK, blockData, blockLoss, toTensor } from '../tiny-block.ts';
import { gpuToleranceFor } from '../tolerances.ts';

// The test page: runs a conformance subset and a transformer block's forward and backward on the
// gpu backend in this browser, and compares them with the goldens and with the js backend.

const gpu = gpuBackend as unknown as Backend<unknown>;

/**
 * Live WebGL textures and WebGPU buffers, counted by wrapping the browser's own create and
 * delete calls: what the device really holds, whatever the backend's own counters say.
 */
export const deviceObjects = { live: 0 };

function wrap(proto: object | undefined, method: string, before: (self: unknown, args: unknown[]) => void): void {
  const p = proto as Record<string, (...args: unknown[]) => unknown> | undefined;
  const original = p?.[method];
  if (!p || !original) return;
  p[method] = function (this: unknown, ...args: unknown[]) {
    before(this, args);
    return original.apply(this, args);
  };
}

const released = new WeakSet<object>();
const g = globalThis as unknown as Record<string, { prototype: object } | undefined>;
wrap(g.WebGL2RenderingContext?.prototype, 'createTexture', () => deviceObjects.live++);
wrap(g.WebGL2RenderingContext?.prototype, 'deleteTexture', (_, [t]) => {
  if (t && !released.has(t as object)) {
    released.add(t as object);
    deviceObjects.live--;
  }
});
wrap(g.GPUDevice?.prototype, 'createBuffer', () => deviceObjects.live++);
wrap(g.GPUBuffer?.prototype, 'destroy', (self) => {
  if (!released.has(self as object)) {
    released.add(self as object);
    deviceObjects.live--;
  }
});
const js = jsBackend as unknown as Backend<unknown>;

export interface PageReport {
  info: ReturnType<typeof configureGpu>;
  cases: number;
  failures: string[];
  block: { loss: [number, number]; worstGrad: { name: string; error: number }; failures: string[] };
  /** Backend buffers and the browser's live textures (webgl2) or buffers (webgpu) around the steps. */
  memory: { before: number; after: number; deviceBefore: number; deviceAfter: number; steps: number };
  stats: ReturnType<typeof gpuMemory>;
  fallbackReasons: Record<string, string>;
  ms: number;
}

const finite = (t: GoldenTensor | null) => !t || t.data.every((v) => typeof v === 'number');

function closeEnough(a: number, e: number, rtol: number, atol: number): boolean {
  return Number.isNaN(e) ? Number.isNaN(a) : Number.isFinite(e) ? Math.abs(a - e) <= atol + rtol * Math.abs(e) : a === e;
}

async function compare(actual: Tensor, expected: GoldenTensor, tol: { rtol: number; atol: number }, label: string): Promise<string | null> {
  if (actual.shape.join() !== expected.shape.join()) return `${label}: shape [${actual.shape}] vs [${expected.shape}]`;
  const a = await readAsync(actual);
  const e = decodeValues(expected);
  const exact = expected.dtype === 'int32';
  for (let i = 0; i < e.length; i++) {
    if (!closeEnough(a[i]!, e[i]!, exact ? 0 : tol.rtol, exact ? 0 : tol.atol)) return `${label}[${i}]: ${a[i]} vs ${e[i]}`;
  }
  return null;
}

async function checkCase(c: GoldenCase, mode: GpuMode): Promise<string | null> {
  const tol = gpuToleranceFor(c.op, mode);
  const build = (t: GoldenTensor, requiresGrad = false) => {
    const v = decodeValues(t);
    return tensor(t.dtype === 'float32' ? Float32Array.from(v) : Int32Array.from(v), { shape: t.shape, backend: gpu, requiresGrad });
  };
  const inputs = c.inputs.map((t, i) => build(t, c.grads[i] != null));
  const result = OP_CASES[c.op]!(inputs, c.attrs);
  const outputs = Array.isArray(result) ? result : [result];
  for (const [i, out] of outputs.entries()) {
    const bad = await compare(out, c.outputs[i]!, tol.forward, `output ${i}`);
    if (bad) return bad;
  }
  if (!c.grads.some((g) => g)) return null;
  const seeded = outputs.flatMap((out, i) => {
    const cot = c.cotangents[i];
    return cot && out.requiresGrad ? [[out, build(cot)] as const] : [];
  });
  if (seeded.length === 1) seeded[0]![0].backward(seeded[0]![1]);
  else if (seeded.length > 1) seeded.map(([o, s]) => sum(mul(o, s))).reduce((a, b) => add(a, b)).backward();
  for (const [i, g] of c.grads.entries()) {
    const grad = inputs[i]!.grad;
    if (!g || !grad) continue;
    const bad = await compare(grad, g, tol.grad, `grad ${i}`);
    if (bad) return bad;
  }
  return null;
}

/** One case per op, with finite data only: GPU shading languages do not promise NaN or Inf semantics. */
function subset(goldens: GoldenFile, perOp: number): GoldenCase[] {
  const taken = new Map<string, number>();
  return goldens.cases.filter((c) => {
    const ok = [...c.inputs, ...c.outputs, ...c.grads, ...c.cotangents].every(finite);
    const n = taken.get(c.op) ?? 0;
    if (!ok || n >= perOp) return false;
    taken.set(c.op, n + 1);
    return true;
  });
}

async function runBlock(mode: GpuMode): Promise<PageReport['block']> {
  const { params, ids, targets } = blockData(TINY_BLOCK, 1);
  const losses: number[] = [];
  const grads: Array<Record<string, Float32Array>> = [];
  for (const backend of [gpu, js]) {
    const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, toTensor(v, backend, true)]));
    const loss = blockLoss(p, toTensor(ids, backend), toTensor(targets, backend), TINY_BLOCK);
    loss.backward();
    losses.push((await readAsync(loss))[0]!);
    const g: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(p)) g[k] = (await readAsync(t.grad!)) as Float32Array;
    grads.push(g);
  }
  const tol = gpuToleranceFor('block', mode).grad;
  const failures: string[] = [];
  let worst = { name: '', error: 0 };
  for (const [name, want] of Object.entries(grads[1]!)) {
    const got = grads[0]![name]!;
    for (let i = 0; i < want.length; i++) {
      const error = Math.abs(got[i]! - want[i]!) / (tol.atol / tol.rtol + Math.abs(want[i]!));
      if (error > worst.error) worst = { name: `${name}[${i}]`, error };
      if (!closeEnough(got[i]!, want[i]!, tol.rtol, tol.atol)) failures.push(`${name}[${i}]: ${got[i]} vs ${want[i]}`);
    }
  }
  if (!closeEnough(losses[0]!, losses[1]!, tol.rtol, tol.atol)) failures.push(`loss: ${losses[0]} vs ${losses[1]}`);
  return { loss: [losses[0]!, losses[1]!], worstGrad: worst, failures: failures.slice(0, 10) };
}

/** Forward and backward steps under tidy(): backend buffers and browser device objects must not grow. */
async function memorySteps(steps: number): Promise<PageReport['memory']> {
  const { params, ids, targets } = blockData(TINY_BLOCK, 2);
  const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, toTensor(v, gpu, true)]));
  const idsT = toTensor(ids, gpu);
  const targetsT = toTensor(targets, gpu);
  const step = () =>
    tidy(() => {
      for (const t of Object.values(p)) t.grad = null;
      const loss = blockLoss(p, idsT, targetsT, TINY_BLOCK);
      loss.backward();
      return loss;
    });
  const run = async () => {
    const loss = step();
    await readAsync(loss);
    loss.dispose();
  };
  // Warm-up: gpu.js builds its kernels, staging and parameter buffers over the first steps.
  for (let i = 0; i < 3; i++) await run();
  const before = gpuMemory().liveBuffers;
  const deviceBefore = deviceObjects.live;
  for (let i = 0; i < steps; i++) await run();
  // webgpu frees a buffer once the kernels reading it have run: let the queue drain (slowly on a busy machine).
  for (let waited = 0; deviceObjects.live > deviceBefore && waited < 5000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { before, after: gpuMemory().liveBuffers, deviceBefore, deviceAfter: deviceObjects.live, steps };
}

export async function runPage(mode: GpuMode, goldens: GoldenFile, perOp: number, memorySteps_: number): Promise<PageReport> {
  const start = performance.now();
  const info = configureGpu({ mode });
  // Memory first, while nothing else is alive: the counts then move only with the steps.
  const memory = await memorySteps(memorySteps_);
  const failures: string[] = [];
  const cases = subset(goldens, perOp);
  for (const c of cases) {
    try {
      const bad = await checkCase(c, mode);
      if (bad) failures.push(`${c.name}: ${bad}`);
    } catch (error) {
      failures.push(`${c.name}: threw ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const block = await runBlock(mode);
  return {
    info,
    cases: cases.length,
    failures,
    block,
    memory,
    stats: gpuMemory(),
    fallbackReasons: Object.fromEntries(gpuFallbackErrors),
    ms: Math.round(performance.now() - start),
  };
}
