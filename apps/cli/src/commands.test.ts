import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgs, glassbox } from './testing/run-cli.ts';

const TINY = ['--steps', '30', '--d-model', '16', '--n-heads', '2', '--n-ctx', '9', '--d-vocab', '12', '--batch', '8'];

async function onlyRun(root: string, suffix: string): Promise<string> {
  const names = (await readdir(root)).filter((n) => n.endsWith(suffix));
  expect(names).toHaveLength(1);
  return join(root, names[0]!);
}

describe('plugin commands write run directories', () => {
  let root = '';
  let trained = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'glassbox-cli-'));
    const result = glassbox('--out', root, '--seed', '1', '--quiet', 'train-model', ...TINY);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    trained = await onlyRun(root, '-train-model');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('train-model leaves a manifest, metrics and checkpoints', async () => {
    const manifest = JSON.parse(await readFile(join(trained, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'train-model', status: 'done', seed: 1, config: { steps: 30, dModel: 16 } });
    expect(manifest.timings.train).toBeGreaterThan(0);
    const metrics = (await readFile(join(trained, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(metrics).toHaveLength(30);
    expect(await readdir(join(trained, 'checkpoints'))).toContain('step-00000030');
  });

  it('predict --json gives the top tokens of the trained model, best first', () => {
    const { code, stdout } = glassbox('--json', 'predict', '--model', trained, '--tokens', '0,3,4,5', '--top', '3');
    expect(code).toBe(0);
    const { tokens, top } = JSON.parse(stdout);
    expect(tokens).toEqual([0, 3, 4, 5]);
    expect(top).toHaveLength(3);
    expect(top[0].logit).toBeGreaterThanOrEqual(top[1].logit);
    expect(top.reduce((s: number, t: { prob: number }) => s + t.prob, 0)).toBeLessThanOrEqual(1);
  });

  it('patch writes labelled results into its own run', async () => {
    const { code } = glassbox('--out', root, '--quiet', 'patch', '--model', trained, '--batch', '2');
    expect(code).toBe(0);
    const run = await onlyRun(root, '-patch');
    const manifest = JSON.parse(await readFile(join(run, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('done');
    expect(Object.keys(manifest.artifacts).length).toBeGreaterThan(0);
    for (const file of Object.values(manifest.artifacts) as string[]) expect(existsSync(join(run, file))).toBe(true);
  });

  it('bad option values and unknown options exit non-zero with one line', () => {
    const bad = glassbox('--out', root, 'train-model', '--steps', 'many');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/argument `steps`; expected an integer >= 1; given "many"/);
    const unknown = glassbox('--out', root, 'train-model', '--stesp', '3');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--stesp'.*Did you mean --steps\?/);
    const missing = glassbox('predict', '--model', join(root, 'nope'), '--tokens', '1');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such model folder/);
    for (const r of [bad, unknown, missing]) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('an interrupted train-model resumes to the same final weights', () => {
  it('Ctrl-C, then --resume, matches an uninterrupted run bit for bit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'glassbox-resume-'));
    try {
      const args = ['--out', root, '--seed', '5', '--quiet', 'train-model', ...TINY, '--steps', '120'];
      const full = glassbox(...args.map((a) => (a === root ? join(root, 'full') : a)));
      expect(full.code).toBe(0);
      const fullRun = await onlyRun(join(root, 'full'), '-train-model');

      // Start the same run and interrupt it once it has written a checkpoint past the start.
      const child = spawn(process.execPath, [...cliArgs, ...args.map((a) => (a === root ? join(root, 'cut') : a))], { stdio: 'pipe' });
      const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
      let cutRun = '';
      for (let i = 0; i < 600 && !cutRun; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const dirs = existsSync(join(root, 'cut')) ? await readdir(join(root, 'cut')) : [];
        const candidate = dirs[0] ? join(root, 'cut', dirs[0]) : '';
        if (candidate && existsSync(join(candidate, 'checkpoints', 'step-00000004'))) cutRun = candidate;
      }
      expect(cutRun).not.toBe('');
      child.kill('SIGINT');
      expect(await exit).toBe(130);
      const interrupted = JSON.parse(await readFile(join(cutRun, 'manifest.json'), 'utf8'));
      expect(interrupted.status).toBe('interrupted');
      expect(existsSync(join(cutRun, 'checkpoints', 'step-00000120'))).toBe(false);

      const resumed = glassbox('--quiet', 'train-model', '--resume', cutRun);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      const a = await readFile(join(fullRun, 'checkpoints', 'step-00000120', 'model.safetensors'));
      const b = await readFile(join(cutRun, 'checkpoints', 'step-00000120', 'model.safetensors'));
      expect(b.equals(a)).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
