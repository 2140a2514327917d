import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glassbox } from './testing/run-cli.ts';

const TINY_ORGANISM = ['--steps', '30', '--d-model', '16', '--n-heads', '2', '--n-ctx', '9', '--d-vocab', '12', '--batch', '8'];

async function onlyRun(root: string, suffix: string): Promise<string> {
  const names = (await readdir(root)).filter((n) => n.endsWith(suffix));
  expect(names).toHaveLength(1);
  return join(root, names[0]!);
}

describe('train-sae --source model reads a hook of a trained organism', () => {
  let root = '';
  let organism = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'glassbox-sae-model-'));
    const trained = glassbox('--out', join(root, 'organism'), '--seed', '1', '--quiet', 'train-model', ...TINY_ORGANISM);
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);
    organism = await onlyRun(join(root, 'organism'), '-train-model');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("saves a SAELens SAE with the hook's name and width, and resumes to the same weights", async () => {
    const args = ['--out', join(root, 'sae'), '--seed', '3', '--quiet', 'train-sae', '--source', 'model', '--model', organism, '--hook', 'blocks.0.hook_resid_post'];
    const sae = glassbox(...args, '--architecture', 'topk', '--d-sae', '32', '--k', '4', '--steps', '20', '--batch-size', '64', '--checkpoint-every', '10');
    expect(sae.stderr).toBe('');
    expect(sae.code).toBe(0);
    const run = await onlyRun(join(root, 'sae'), '-train-sae');
    const folder = join(run, 'saes', 'topk-w32-k4');
    const cfg = JSON.parse(await readFile(join(folder, 'cfg.json'), 'utf8'));
    // d_in is the organism's residual width (--d-model 16), not a default of the command.
    expect(cfg).toMatchObject({ architecture: 'topk', d_in: 16, d_sae: 32, k: 4, metadata: { hook_name: 'blocks.0.hook_resid_post' } });
    const summary = JSON.parse(await readFile(join(run, 'train-summary.json'), 'utf8'));
    expect(summary.tokens).toBe(20 * 64);
    const weights = await readFile(join(folder, 'sae_weights.safetensors'));

    // Go back to the checkpoint at step 10, as if stopped there; resuming must redo steps 11-20 exactly.
    await rm(join(run, 'checkpoints', 'step-000000020'), { recursive: true });
    await writeFile(join(run, 'checkpoints', 'latest.json'), JSON.stringify({ step: 10, dir: 'step-000000010' }));
    await rm(join(run, 'saes'), { recursive: true });
    const resumed = glassbox('--quiet', 'train-sae', '--resume', run);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect((await readFile(join(folder, 'sae_weights.safetensors'))).equals(weights)).toBe(true);
  });
});
