import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arange, loadTensors } from '@glassbox/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { RunDirectory } from './run-directory.ts';

describe('RunDirectory', () => {
  let root = '';
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('lays out manifest, artifacts and metrics, and keeps the manifest current', async () => {
    root = await mkdtemp(join(tmpdir(), 'glassbox-runs-'));
    const run = await RunDirectory.create({
      root,
      name: 'train-model',
      command: ['glassbox', 'train-model', '--steps', '10'],
      config: { steps: 10, lr: 0.001 },
      seed: 7,
      backend: 'js',
      now: new Date(2026, 0, 2, 3, 4, 5),
    });
    expect(run.path).toBe(join(root, '20260102-030405-train-model'));
    await run.writeTensors('checkpoints/step-10.safetensors', { w: arange(4, { dtype: 'float32' }) }, undefined, 'final');
    await run.writeJson('config.json', { a: 1 });
    await run.logMetrics({ step: 1, loss: 2.5 });
    await run.logMetrics({ step: 2, loss: 2.25 });
    await run.time('train', async () => {});
    await run.finish('done');

    const manifest = JSON.parse(await readFile(join(run.path, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'train-model', seed: 7, backend: 'js', status: 'done', config: { steps: 10 } });
    expect(manifest.artifacts).toEqual({ final: 'checkpoints/step-10.safetensors', 'config.json': 'config.json' });
    expect(manifest.timings.train).toBeGreaterThanOrEqual(0);
    const metrics = (await readFile(join(run.path, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics).toEqual([
      { step: 1, loss: 2.5 },
      { step: 2, loss: 2.25 },
    ]);
    const weights = await loadTensors(join(run.path, 'checkpoints/step-10.safetensors'));
    expect(Array.from(weights.w!.data())).toEqual([0, 1, 2, 3]);
    // Atomic writes leave no temporary files behind.
    expect((await readdir(run.path)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const reopened = await RunDirectory.open(run.path);
    expect(reopened.info.status).toBe('done');
  });

  it('refuses paths outside the run and folders without a manifest', async () => {
    root = await mkdtemp(join(tmpdir(), 'glassbox-runs-'));
    const run = await RunDirectory.create({ root, name: 'x', command: [], config: {}, seed: 0, backend: 'js' });
    expect(() => run.file('../escape.json')).toThrow(/escapes the run directory/);
    await expect(RunDirectory.open(root)).rejects.toThrow(/not a run directory/);
  });
});
