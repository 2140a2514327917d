import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, Generator, narrow, norm, randn, tensor } from '@glassbox/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saeConfig } from '../sae/config.ts';
import { createSae } from '../sae/create.ts';
import { SparseFeatureData } from '../synthetic/sparse-features.ts';
import { tensorSource } from './activation-source.ts';
import { DeadLatentTracker, resampleDeadLatents } from './dead-latents.ts';
import { geometricMedian } from './geometric-median.ts';
import { lrSchedule, sparsityCoefficientAt } from './schedule.ts';
import { type TrainOptions, type TrainRunSpec, formatProgress, trainSaes } from './trainer.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sdl-train-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const D = 8;
const source = (seed = 1) => new SparseFeatureData({ dIn: D, numFeatures: 12, meanActive: 2, seed });
const runs: TrainRunSpec[] = [
  { name: 'relu', sae: saeConfig({ architecture: 'standard', dIn: D, dSae: 16 }), seed: 1, lr: 5e-3, sparsityCoefficient: 0.05, sparsityWarmupSteps: 3, lrWarmupSteps: 2, lrDecay: 'linear', resampleEverySteps: 4, deadWindowTokens: 64 },
  { name: 'topk', sae: saeConfig({ architecture: 'topk', dIn: D, dSae: 16, k: 2 }), seed: 2, lr: 5e-3, deadWindowTokens: 64 },
  { name: 'jump', sae: saeConfig({ architecture: 'jumprelu', dIn: D, dSae: 16 }), seed: 3, lr: 5e-3, sparsityCoefficient: 0.01, jumpRelu: { bandwidth: 0.05 } },
];
const base = (overrides: Partial<TrainOptions> = {}): TrainOptions => ({ source: source(), runs, steps: 8, batchSize: 32, ...overrides });

function weights(result: Awaited<ReturnType<typeof trainSaes>>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const run of result.runs) for (const [name, t] of Object.entries(run.sae.stateDict())) out[`${run.name}.${name}`] = Array.from(t.data());
  return out;
}

describe('trainSaes', () => {
  it('is deterministic under its seeds, and reports progress with tokens/s', async () => {
    const seen: number[] = [];
    const a = await trainSaes(base({ onProgress: (p) => seen.push(p.tokensPerSecond) }));
    const b = await trainSaes(base());
    expect(weights(a)).toEqual(weights(b));
    expect(seen).toHaveLength(8);
    expect(seen.every((t) => t > 0)).toBe(true);
    expect(a).toMatchObject({ steps: 8, tokens: 256, status: 'completed' });
    expect(a.runs.map((r) => r.metrics!.name)).toEqual(['relu', 'topk', 'jump']);
    expect(formatProgress({ step: 4, totalSteps: 8, tokens: 128, tokensPerSecond: 1234, elapsedSeconds: 0.1, runs: a.runs.map((r) => r.metrics!) })).toMatch(/^step 4\/8 \[#{10}-{10}\] 1\.2k tok\/s relu: loss/);
  });

  it('trains a grid in one pass exactly as each SAE alone', async () => {
    const together = await trainSaes(base());
    const alone = await trainSaes(base({ runs: [runs[1]!] }));
    const all = weights(together);
    for (const [name, values] of Object.entries(weights(alone))) expect(all[name]).toEqual(values);
  });

  it('resumes from a checkpoint bit for bit, keeping the newest checkpoints', async () => {
    const dir = join(scratch, 'resume');
    const straight = await trainSaes(base());
    const controller = new AbortController();
    const first = await trainSaes(base({ checkpoint: { dir, everySteps: 2, keep: 2 }, signal: controller.signal, onProgress: (p) => p.step === 5 && controller.abort() }));
    expect(first).toMatchObject({ status: 'aborted', steps: 5 });
    const second = await trainSaes(base({ source: source(), checkpoint: { dir, everySteps: 2 } }));
    expect(second).toMatchObject({ status: 'completed', steps: 8, resumedFromStep: 5, tokens: 256 });
    expect(weights(second)).toEqual(weights(straight));
    const entries = (await readdir(dir)).sort();
    expect(entries).toEqual(['latest.json', 'step-000000006', 'step-000000008']);
  });

  it('normalises to the expected average norm and folds the scale back', async () => {
    const data = source(5);
    const raw = tensor(data.next(256).data(), { shape: [256, D] });
    const scaled = (s: number) => tensorSource(raw.mul(s), { seed: 1 });
    const spec: TrainRunSpec = { name: 'topk', sae: saeConfig({ architecture: 'topk', dIn: D, dSae: 16, k: 2 }), lr: 1e-2 };
    const a = await trainSaes({ source: scaled(1), runs: [spec], steps: 5, batchSize: 64, activationScale: 'expected_average_norm' });
    const b = await trainSaes({ source: scaled(10), runs: [spec], steps: 5, batchSize: 64, activationScale: 'expected_average_norm' });
    // The same SAE up to units: raw inputs ten times larger give outputs ten times larger.
    expect(a.activationScale / b.activationScale).toBeCloseTo(10, 3);
    const x = narrow(raw, 0, 0, 8);
    const ya = a.runs[0]!.sae.forward(x).data();
    const yb = b.runs[0]!.sae.forward(x.mul(10)).data();
    ya.forEach((v, i) => {
      expect(yb[i]! / 10).toBeCloseTo(v, 3);
    });
    expect(a.runs[0]!.sae.config.normalizeActivations).toBe('none');
  });

  it('rejects bad options with the field named', async () => {
    await expect(trainSaes(base({ batchSize: 0 }))).rejects.toThrow(/`batchSize`/);
    await expect(trainSaes(base({ runs: [runs[0]!, runs[0]!] }))).rejects.toThrow(/distinct run names/);
    await expect(trainSaes(base({ runs: [{ ...runs[0]!, sae: saeConfig({ architecture: 'standard', dIn: 3, dSae: 4 }) }] }))).rejects.toThrow(/source width 8/);
  });
});

describe('training pieces', () => {
  it('schedules: warmup, linear and cosine decay; sparsity warmup', () => {
    const linear = lrSchedule({ totalSteps: 10, warmupSteps: 2, decay: 'linear', decaySteps: 4 });
    expect([0, 1, 2, 5, 6, 7, 9].map(linear)).toEqual([0.5, 1, 1, 1, 1, 0.75, 0.25]);
    const cosine = lrSchedule({ totalSteps: 10, decay: 'cosine', minLrRatio: 0.1 });
    expect(cosine(0)).toBeCloseTo(1);
    expect(cosine(5)).toBeCloseTo(0.55);
    expect(cosine(10)).toBeCloseTo(0.1);
    expect([0, 1, 3, 9].map((s) => sparsityCoefficientAt(s, 2, 4))).toEqual([0.5, 1, 2, 2]);
  });

  it('geometric median resists an outlier that drags the mean', () => {
    const pts = Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1, 100, 100]);
    const median = geometricMedian(pts, 5, 2);
    expect(Math.hypot(median[0]! - 0.5, median[1]! - 0.5)).toBeLessThan(0.5);
  });

  it('dead-latent tracking and resampling', () => {
    const tracker = new DeadLatentTracker(3, 10);
    tracker.update(Int32Array.from([1, 0, 0]), 6);
    tracker.update(Int32Array.from([0, 0, 2]), 6);
    expect(Array.from(tracker.deadMask())).toEqual([0, 1, 0]);
    const sae = createSae(saeConfig({ architecture: 'standard', dIn: 4, dSae: 6 }), { generator: Generator.fromSeed(1) });
    const optimizer = new Adam(sae.parameters(), { lr: 0.1 });
    const x = randn([16, 4], { generator: Generator.fromSeed(2) });
    sae.trainStep(x, { ...runsContext }).loss.backward();
    optimizer.step();
    const before = Array.from(sae.W_dec.data());
    const liveNorms = Array.from(norm(sae.W_dec, 2, 1).data()).filter((_, j) => j !== 1 && j !== 4);
    const dead = Uint8Array.from([0, 1, 0, 0, 1, 0]);
    const { resampled } = resampleDeadLatents(sae, x, dead, optimizer, Generator.fromSeed(3));
    expect(resampled).toEqual([1, 4]);
    const after = Array.from(sae.W_dec.data());
    expect(after.slice(0, 4)).toEqual(before.slice(0, 4));
    expect(after.slice(4, 8)).not.toEqual(before.slice(4, 8));
    const state = optimizer.stateDict().state[optimizer.params.indexOf(sae.W_dec)]!;
    const moments = (state.expAvg as ReturnType<typeof tensor>).data();
    expect(Array.from(moments.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect(Array.from(moments.subarray(0, 4)).some((v) => v !== 0)).toBe(true);
    // The new decoder row has the mean norm of the live ones.
    expect(norm(sae.W_dec, 2, 1).data()[1]).toBeCloseTo(liveNorms.reduce((a, b) => a + b, 0) / 4, 5);
  });
});

const runsContext = { sparsityCoefficient: 0.1, decoderNorm: 'penalty' as const, deadMask: null, kAux: 2, auxkCoefficient: 0, jumpReluBandwidth: 0.001, jumpReluSparsity: 'step' as const, jumpReluTanhScale: 4, preActCoefficient: 0, thresholdLr: 0.01 };
