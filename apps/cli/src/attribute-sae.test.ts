import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSae, saeConfig, saveSaeLens } from '@glassbox/plugin-sdl';
import { Generator } from '@glassbox/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glassbox } from './testing/run-cli.ts';

// d_model 16 and 2 heads: hook_resid_post and the flattened hook_z are both 16 wide.
const TINY_ORGANISM = ['--steps', '30', '--d-model', '16', '--n-heads', '2', '--n-ctx', '9', '--d-vocab', '12', '--batch', '8'];
const RESID = 'blocks.0.hook_resid_post';
const Z = 'blocks.1.attn.hook_z';

async function onlyRun(root: string, suffix: string): Promise<string> {
  const names = (await readdir(root)).filter((n) => n.endsWith(suffix));
  expect(names).toHaveLength(1);
  return join(root, names[0]!);
}

/** A randomly initialised SAELens folder, as the SDL plugin saves it. */
async function saeFolder(dir: string, hookName: string, dIn: number, dSae: number, seed: number): Promise<string> {
  await saveSaeLens(createSae(saeConfig({ architecture: 'standard', dIn, dSae, hookName }), { generator: Generator.fromSeed(seed) }), dir);
  return dir;
}

describe('attribute --sae scores the latents of SAE folders spliced into a model', () => {
  let root = '';
  let organism = '';
  const saes: Record<string, string> = {};
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'glassbox-attribute-sae-'));
    const trained = glassbox('--out', join(root, 'organism'), '--seed', '1', '--quiet', 'train-model', ...TINY_ORGANISM);
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);
    organism = await onlyRun(join(root, 'organism'), '-train-model');
    saes.resid = await saeFolder(join(root, 'resid'), RESID, 16, 24, 1);
    saes.z = await saeFolder(join(root, 'z'), Z, 16, 8, 2);
    saes.typo = await saeFolder(join(root, 'typo'), 'blocks.0.hook_resid_pst', 16, 8, 3);
    saes.narrow = await saeFolder(join(root, 'narrow'), RESID, 12, 8, 4);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** The parts of feature-attribution.json the tests read. */
  interface FeatureArtifact {
    axes: Array<{ name: string; labels: string[] }>;
    dictionaries: Array<{ hookName: string; dSae: number }>;
    includeError: boolean;
    values: number[][] | number[];
    top: Array<{ pos?: string; feature: string; score: number; patched?: number }>;
    topLatents: Array<{ pos?: string; feature: string; score: number }>;
    comparison: { activationPatchingCost: { forward: number } };
  }
  async function artifact(out: string): Promise<FeatureArtifact> {
    return JSON.parse(await readFile(join(await onlyRun(out, '-attribute'), 'feature-attribution.json'), 'utf8'));
  }

  it('labels latents <hook>:<j> per position, adds error nodes with --include-error, and patches the top nodes with --compare', async () => {
    const out = join(root, 'runs-error');
    const run = glassbox('--out', out, 'attribute', '--model', organism, '--sae', `${saes.resid},${saes.z}`, '--include-error', '--compare', '--top', '6', '--batch', '4');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/atp \(denoising\) over 32 latents of 2 SAEs and their error terms/);
    expect(run.stdout).toMatch(/Pearson r = /);
    const json = await artifact(out);
    const labels = [...Array.from({ length: 24 }, (_, j) => `${RESID}:${j}`), `${RESID}:error`, ...Array.from({ length: 8 }, (_, j) => `${Z}:${j}`), `${Z}:error`];
    expect(json.axes.map((a) => a.name)).toEqual(['pos', 'feature']);
    expect(json.axes[1]!.labels).toEqual(labels);
    expect(json.dictionaries.map((d) => [d.hookName, d.dSae])).toEqual([
      [RESID, 24],
      [Z, 8],
    ]);
    const grid = json.values as number[][];
    const values = grid.flat();
    expect(values).toHaveLength(9 * labels.length);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(values.some((v) => v !== 0)).toBe(true);
    // The listed nodes are the strongest, each with its AtP score and its patched effect.
    expect(json.top).toHaveLength(6);
    const strongest = Math.max(...values.map(Math.abs));
    expect(Math.abs(json.top[0]!.score)).toBeCloseTo(strongest, 6);
    for (const node of json.top) {
      expect(node.score).toBe(grid[Number(node.pos)]![labels.indexOf(node.feature)]);
      expect(Number.isFinite(node.patched)).toBe(true);
    }
    expect(json.comparison.activationPatchingCost.forward).toBe(2 + 6);
    // The latents are also ranked on their own, since error nodes often carry the most.
    expect(json.topLatents).toHaveLength(6);
    expect(json.topLatents.every((n) => !n.feature.endsWith(':error'))).toBe(true);
    const latentScores = grid.flatMap((row) => row.filter((_, f) => !labels[f]!.endsWith(':error')));
    expect(Math.abs(json.topLatents[0]!.score)).toBeCloseTo(Math.max(...latentScores.map(Math.abs)), 6);
    expect(run.stdout).toMatch(/strongest latents:\n {2}blocks\.\d\.(hook_resid_post|attn\.hook_z):\d+ at pos \d:/);
  });

  it('without --include-error has no error nodes, and --granularity all_pos sums over positions', async () => {
    const out = join(root, 'runs-plain');
    const run = glassbox('--out', out, '--json', 'attribute', '--model', organism, '--sae', saes.resid!, '--granularity', 'all_pos', '--batch', '4');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).artifacts).toMatchObject({ 'feature-attribution': 'feature-attribution.json' });
    const json = await artifact(out);
    expect(json.includeError).toBe(false);
    expect(json.axes).toEqual([{ name: 'feature', labels: Array.from({ length: 24 }, (_, j) => `${RESID}:${j}`) }]);
    expect((json.values as number[]).every(Number.isFinite)).toBe(true);
  });

  it("names the model's nearest hook when the SAE's hook is not in it, and both widths when d_in differs", () => {
    const typo = glassbox('--out', join(root, 'runs-typo'), 'attribute', '--model', organism, '--sae', saes.typo!);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/argument `--sae`/);
    expect(typo.stderr).toContain(`Did you mean \`${RESID}\``);
    const narrow = glassbox('--out', join(root, 'runs-narrow'), 'attribute', '--model', organism, '--sae', saes.narrow!);
    expect(narrow.code).toBe(1);
    expect(narrow.stderr).toMatch(/expected d_in = 16, the width of blocks\.0\.hook_resid_post in this model; given d_in = 12 from /);
  });
});
