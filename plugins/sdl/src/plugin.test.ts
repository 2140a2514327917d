import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirectory, type RunContext, resolveOptions, silentProgress } from '@glassbox/core';
import { Generator } from '@glassbox/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdlPlugin } from './index.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sdl-plugin-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function context(name: string, overrides: Partial<RunContext> = {}): Promise<RunContext> {
  const runDir = await RunDirectory.create({ root, name, command: ['test'], config: {}, seed: 0, backend: 'js' });
  return { model: undefined, backend: 'js', runDir, rng: Generator.fromSeed(0), progress: silentProgress, resumed: false, signal: new AbortController().signal, log: () => {}, ...overrides };
}

describe('sdlPlugin', () => {
  it('is a plain value with commands, option schemas and a library', () => {
    const plugin = sdlPlugin();
    expect(plugin.name).toBe('sdl');
    expect(plugin.commands.map((c) => c.name)).toEqual(['train-sae', 'eval-sae']);
    expect(typeof plugin.library.trainSaes).toBe('function');
    const defaults = resolveOptions('train-sae', plugin.options, {});
    expect(defaults).toMatchObject({ architecture: 'topk', k: [32], steps: 1000 });
    expect(() => resolveOptions('train-sae', plugin.options, { architecture: 'topkk' })).toThrow(/Did you mean `topk`/);
  });

  it('train-sae trains a grid and saves SAELens folders that eval-sae reads', async () => {
    const plugin = sdlPlugin();
    const [train, evaluate] = plugin.commands;
    const ctx = await context('train');
    const options = resolveOptions('train-sae', train!.options, { architecture: 'topk', k: '2,3', dSae: '24', steps: '6', batchSize: '32', lr: '0.01', syntheticDIn: '8', syntheticFeatures: '12', syntheticActive: '2', checkpointEvery: '3' });
    const result = await train!.run(ctx, options);
    expect(Object.keys(result.artifacts!)).toEqual(['topk-w24-k2', 'topk-w24-k3']);
    expect(result.summary.join('\n')).toMatch(/topk-w24-k3: loss .* MMCS 0\.\d+/);
    const metrics = (await readFile(ctx.runDir.file('metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics).toHaveLength(12);
    expect(metrics[0]).toMatchObject({ step: 1, run: 'topk-w24-k2' });

    const evalCtx = await context('eval');
    const evalOptions = resolveOptions('eval-sae', evaluate!.options, { sae: ctx.runDir.file('saes/topk-w24-k3'), batches: '2', batchSize: '64', syntheticFeatures: '12', syntheticActive: '2' });
    const evaluated = await evaluate!.run(evalCtx, evalOptions);
    expect(evaluated.summary[0]).toMatch(/^L0 [\d.]+ {2}MSE/);
    const report = JSON.parse(await readFile(evalCtx.runDir.file('eval.json'), 'utf8'));
    expect(report.tokens).toBe(128);
    expect(report.l0).toBeLessThanOrEqual(3);
    expect(report.featureDensity).toHaveLength(24);
  });

  it('train-sae stops on the signal and continues when resumed', async () => {
    const [train] = sdlPlugin().commands;
    const controller = new AbortController();
    controller.abort();
    const ctx = await context('resume', { signal: controller.signal });
    const options = resolveOptions('train-sae', train!.options, { dSae: '16', k: '2', steps: '4', batchSize: '16', syntheticDIn: '8', syntheticFeatures: '12' });
    expect((await train!.run(ctx, options)).summary).toEqual(['stopped at step 0; resume to continue']);
    const resumed = await train!.run({ ...ctx, resumed: true, signal: new AbortController().signal }, options);
    expect(resumed.summary[0]).toMatch(/^trained 1 SAE\(s\) for 4 steps/);
  });
});
