import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunContext, RunDirectory, resolveOptions, silentProgress } from '@glassbox/core';
import { type Dictionary, HookNameError } from '@glassbox/model';
import { Generator, ShapeError, type Tensor, ValueError, add, matmul, randn, relu } from '@glassbox/tensor';
import { afterAll, describe, expect, test } from 'vitest';
import { featurePatching } from '../feature-nodes.ts';
import { tinyModel } from '../fixtures/tiny-models.ts';
import { attributionPlugin } from '../plugin.ts';
import { loadTask } from './task.ts';
import { NoDictionaryLoaderError } from './feature-attribution.ts';

const HOOK = 'blocks.1.hook_resid_pre';

/** A ReLU dictionary with random weights, written against the model package's contract. */
function reluDictionary(hookName: string, dIn: number, dSae: number, seed: number): Dictionary {
  const generator = Generator.fromSeed(seed);
  const W_enc = randn([dIn, dSae], { generator }).mul(0.5); // [d_in, d_sae]
  const b_enc = randn([dSae], { generator }).mul(0.1);
  const W_dec = randn([dSae, dIn], { generator }).mul(0.3); // [d_sae, d_in]
  return { dIn, dSae, dOut: dIn, hookName, outHookName: hookName, encode: (x: Tensor) => relu(add(matmul(x, W_enc), b_enc)), decode: (f: Tensor) => matmul(f, W_dec) };
}

describe('attribute --sae', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });
  const model = tinyModel('ln-sequential'); // d_model 12
  async function context(): Promise<RunContext> {
    const root = await mkdtemp(join(tmpdir(), 'glassbox-attribute-sae-'));
    roots.push(root);
    const runDir = await RunDirectory.create({ root, name: 'attribute', command: ['glassbox', 'attribute'], config: {}, seed: 1, backend: 'js' });
    return { model, backend: 'js', runDir, resumed: false, rng: Generator.fromSeed(1), progress: silentProgress, signal: new AbortController().signal, log: () => {} };
  }
  const attribute = (plugin: ReturnType<typeof attributionPlugin>) => plugin.commands.find((c) => c.name === 'attribute')!;
  const run = async (plugin: ReturnType<typeof attributionPlugin>, given: Record<string, unknown>) => {
    const command = attribute(plugin);
    const ctx = await context();
    return { ctx, result: await command.run(ctx, resolveOptions('attribute', command.options, { batch: 2, ...given })) };
  };

  test('without an injected loader, --sae fails with a NoDictionaryLoaderError naming the flag', async () => {
    const error = await run(attributionPlugin(), { sae: 'saes/resid' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoDictionaryLoaderError);
    expect(error).toBeInstanceOf(ValueError);
    expect((error as NoDictionaryLoaderError).arg).toBe('--sae');
    expect((error as Error).message).toMatch(/loadDictionary/);
    // Without --sae the same plugin still attributes model components.
    const { result } = await run(attributionPlugin(), { preset: 'head_out_all_pos' });
    expect(result.artifacts).toMatchObject({ attribution: 'attribution.json' });
  });

  test("an SAE whose hook is not the model's fails with the model's nearest hook name", async () => {
    const plugin = attributionPlugin({ loadDictionary: async () => reluDictionary('blocks.1.hook_resid_pr', 12, 6, 1) });
    const error = await run(plugin, { sae: 'saes/typo' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HookNameError);
    expect((error as HookNameError).suggestions[0]).toBe(HOOK);
    expect((error as Error).message).toMatch(/saes\/typo/);
  });

  test("an SAE whose d_in is not its hook's width fails with a ShapeError giving both", async () => {
    const plugin = attributionPlugin({ loadDictionary: async () => reluDictionary(HOOK, 10, 6, 1) });
    const error = await run(plugin, { sae: 'saes/wide' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/d_in = 12.*d_in = 10/);
  });

  test('--method other than atp is refused with --sae', async () => {
    const plugin = attributionPlugin({ loadDictionary: async () => reluDictionary(HOOK, 12, 6, 1) });
    await expect(run(plugin, { sae: 'saes/resid', method: 'eap' })).rejects.toThrow(/--method/);
  });

  test('node-set options that --sae would ignore are refused, each named', async () => {
    const plugin = attributionPlugin({ loadDictionary: async () => reluDictionary(HOOK, 12, 6, 1) });
    await expect(run(plugin, { sae: 'saes/resid', preset: 'resid_pre' })).rejects.toThrow(/--preset resid_pre/);
    await expect(run(plugin, { sae: 'saes/resid', gradDrop: true, steps: 7 })).rejects.toThrow(/--grad-drop --steps 7/);
  });

  test.each(['pos', 'all_pos'] as const)('with granularity %s, scores the latents of every folder, and --compare patches the strongest nodes exactly as featurePatching does', async (granularity) => {
    const folders: Record<string, Dictionary> = { 'saes/a': reluDictionary(HOOK, 12, 6, 1), 'saes/b': reluDictionary('blocks.1.hook_resid_post', 12, 5, 2) };
    const asked: string[] = [];
    const plugin = attributionPlugin({
      loadDictionary: async (path) => {
        asked.push(path);
        return folders[path]!;
      },
    });
    const { ctx, result } = await run(plugin, { sae: 'saes/a, saes/b', includeError: true, compare: true, top: 8, granularity });
    expect(asked).toEqual(['saes/a', 'saes/b']);
    expect(result.artifacts).toMatchObject({ 'feature-attribution': 'feature-attribution.json' });
    const json = JSON.parse(await readFile(ctx.runDir.file('feature-attribution.json'), 'utf8'));
    const labels = [...Array.from({ length: 6 }, (_, j) => `${HOOK}:${j}`), `${HOOK}:error`, ...Array.from({ length: 5 }, (_, j) => `blocks.1.hook_resid_post:${j}`), 'blocks.1.hook_resid_post:error'];
    const positional = granularity === 'pos';
    expect(json.axes.map((a: { name: string }) => a.name)).toEqual(positional ? ['pos', 'feature'] : ['feature']);
    expect(json.axes.at(-1).labels).toEqual(labels);
    expect(json.cost).toEqual({ forward: 2, backward: 1 });
    expect(json.top).toHaveLength(8);

    // The ground truth for the same nodes, from the library's full activation patching.
    const dictionaries = Object.values(folders);
    const task = await loadTask(model, { prompts: '', batch: 2, halfLen: 0, metric: 'logit-diff' }, Generator.fromSeed(1), 'test');
    const truth = featurePatching(model, task.pairs, task.metric, { dictionaries, includeError: true, granularity });
    const at = (values: unknown, node: { pos?: string; feature: string }): number => {
      const f = labels.indexOf(node.feature);
      return positional ? (values as number[][])[Number(node.pos)]![f]! : (values as number[])[f]!;
    };
    for (const node of json.top as Array<{ pos?: string; feature: string; score: number; patched: number }>) {
      expect(node.pos === undefined).toBe(!positional);
      expect(node.score).toBeCloseTo(at(json.values, node), 6);
      expect(node.patched).toBeCloseTo(at(truth.values.toArray(), node), 4);
    }
    expect((json.top as Array<{ patched: number }>).some((n) => Math.abs(n.patched) > 1e-4)).toBe(true);
    const magnitudes = (json.top as Array<{ score: number }>).map((n) => Math.abs(n.score));
    expect(magnitudes).toEqual([...magnitudes].sort((a, b) => b - a));
    expect(json.topLatents.every((n: { feature: string }) => !n.feature.endsWith(':error'))).toBe(true);
    expect(result.summary.join('\n')).toMatch(/Pearson r/);
  });
});
