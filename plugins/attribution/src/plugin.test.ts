import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunContext, RunDirectory, resolveOptions, silentProgress } from '@glassbox/core';
import { Generator } from '@glassbox/tensor';
import { afterAll, describe, expect, test } from 'vitest';
import { tinyModel } from './fixtures/tiny-models.ts';
import { attributionPlugin } from './plugin.ts';

describe('attribution plugin', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });
  const model = tinyModel('ln-sequential');
  async function context(name: string, options: { noModel?: boolean } = {}): Promise<RunContext> {
    const root = await mkdtemp(join(tmpdir(), 'glassbox-attribution-'));
    roots.push(root);
    const runDir = await RunDirectory.create({ root, name, command: ['glassbox', name], config: {}, seed: 1, backend: 'js' });
    return { model: options.noModel ? undefined : model, backend: 'js', runDir, resumed: false, rng: Generator.fromSeed(1), progress: silentProgress, signal: new AbortController().signal, log: () => {} };
  }
  const command = (name: string) => attributionPlugin().commands.find((c) => c.name === name)!;

  test('provides patch, attribute and circuit commands that need a model', () => {
    expect(attributionPlugin().commands.map((c) => [c.name, c.needsModel])).toEqual([
      ['patch', true],
      ['attribute', true],
      ['circuit', true],
    ]);
  });

  test('patch and attribute write labelled results and report pass counts', async () => {
    const ctx = await context('patch');
    const patch = command('patch');
    const result = await patch.run(ctx, resolveOptions('patch', patch.options, { preset: 'head_out_by_pos', batch: 2 }));
    expect(result.artifacts).toMatchObject({ patching: 'patching.json' });
    const json = JSON.parse(await readFile(ctx.runDir.file('patching.json'), 'utf8'));
    expect(json.axes.map((a: { name: string }) => a.name)).toEqual(['layer', 'pos', 'head']);
    const attribute = command('attribute');
    const ctx2 = await context('attribute');
    const res = await attribute.run(ctx2, resolveOptions('attribute', attribute.options, { method: 'atp-star', preset: 'head_k_all_pos', compare: 'true', batch: 2, gradDrop: true }));
    expect(res.summary.join('\n')).toMatch(/Pearson r/);
    const att = JSON.parse(await readFile(ctx2.runDir.file('attribution.json'), 'utf8'));
    expect(att.comparison.activationPatchingCost.forward).toBe(2 + 2 * 2);
    expect(att.gradDrop).toHaveLength(4);
  });

  test('circuit writes edge scores, a faithfulness curve and a circuit graph', async () => {
    const ctx = await context('circuit');
    const circuit = command('circuit');
    const res = await circuit.run(ctx, resolveOptions('circuit', circuit.options, { size: 10, batch: 2, steps: 2 }));
    expect(Object.keys(res.artifacts!).sort()).toEqual(['circuit', 'edge-scores', 'edge-scores-values', 'faithfulness']);
    const graph = JSON.parse(await readFile(ctx.runDir.file('circuit.json'), 'utf8'));
    expect(graph.format).toBe('glassbox.circuit-graph');
    expect(graph.edges.length).toBeLessThanOrEqual(10);
    expect(typeof graph.metadata.cpr).toBe('number');
    const metrics = (await readFile(ctx.runDir.file('metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(metrics.length).toBeGreaterThan(2);
  });

  test('reads prompt pairs from a file, and refuses a missing model', async () => {
    const ctx = await context('file');
    const file = ctx.runDir.file('pairs.json');
    await writeFile(file, JSON.stringify({ clean: [[0, 1, 2, 3], [0, 4, 5, 6]], corrupted: [[0, 2, 2, 3], [0, 5, 5, 6]], answers: [4, 7], wrong: [5, 8] }));
    const attribute = command('attribute');
    const res = await attribute.run(ctx, resolveOptions('attribute', attribute.options, { method: 'eap', prompts: file }));
    expect(res.summary[0]).toMatch(/^eap: \d+ edges, 2 forward and 1 backward passes/);
    await expect(attribute.run(await context('none', { noModel: true }), resolveOptions('attribute', attribute.options, {}))).rejects.toThrow(/HookedTransformer/);
  });
});
