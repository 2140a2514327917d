import { HookedTransformer } from '@glassbox/model';
import { noGrad, tensor, where } from '@glassbox/tensor';
import { describe, expect, test } from 'vitest';
import { activationPatching } from './activation-patching.ts';
import { tinyModel, tinyPairs } from './fixtures/tiny-models.ts';
import { logitDiff } from './metrics.ts';
import { nodeMask } from './patching-presets.ts';

describe('activation patching', () => {
  const model = tinyModel('ln-sequential');
  const pairs = tinyPairs(model);
  const metric = logitDiff(pairs);

  test('each entry is the metric change of one patched forward pass', () => {
    const result = activationPatching(model, pairs, metric, { preset: 'head_out_by_pos' });
    expect(result.values.shape).toEqual([2, 9, 2]);
    expect(result.axes.map((a) => a.name)).toEqual(['layer', 'pos', 'head']);
    const clean = noGrad(() => model.runWithCache(pairs.clean, { namesFilter: ['blocks.1.attn.hook_z'] }).cache.get('blocks.1.attn.hook_z'));
    const mask = nodeMask(model, { kind: 'z', granularity: 'pos', label: 'output' }, 9, 5 * 2 + 1);
    const patched = noGrad(() => metric(model.runWithHooks(pairs.corrupted, { fwdHooks: [['blocks.1.attn.hook_z', (act) => where(mask, clean, act)]] })).item());
    const base = noGrad(() => metric(model.forward(pairs.corrupted)).item());
    expect(result.values.toArray()).toBeDefined();
    expect((result.values.data()[1 * 18 + 5 * 2 + 1] ?? Number.NaN) - (patched - base)).toBeCloseTo(0, 5);
    expect(result.cost.forward).toBe(2 + 2 * 9 * 2);
  });

  test('a pair that differs in one token: denoising the residual stream there restores the clean run', () => {
    const clean = tensor([[0, 3, 5, 7, 3, 5, 7, 2, 4]], { dtype: 'int32' });
    const corrupted = tensor([[0, 3, 9, 7, 3, 5, 7, 2, 4]], { dtype: 'int32' });
    const one = { clean, corrupted };
    const m = logitDiff({ answers: tensor([5], { dtype: 'int32' }), wrong: tensor([9], { dtype: 'int32' }) });
    const result = activationPatching(model, one, m, { preset: 'resid_pre' });
    const layer0 = Array.from(result.values.data()).slice(0, 9);
    expect(layer0[2]).toBeCloseTo(result.sourceMetric - result.baseMetric, 4);
    layer0.forEach((v, p) => {
      if (p !== 2) expect(v).toBeCloseTo(0, 6);
    });
    // Noising the same node breaks the clean run as much.
    const noising = activationPatching(model, one, m, { preset: 'resid_pre', direction: 'noising' });
    expect(noising.values.data()[2]).toBeCloseTo(noising.sourceMetric - noising.baseMetric, 4);
  });

  test('every grids stack their components', () => {
    const block = activationPatching(model, pairs, metric, { preset: 'block_every' });
    expect(block.axes.map((a) => a.name)).toEqual(['component', 'layer', 'pos']);
    expect(block.axes[0]!.labels).toEqual(['resid_pre', 'attn_out', 'mlp_out']);
    const heads = activationPatching(model, pairs, metric, { preset: 'head_all_pos_every', direction: 'noising' });
    expect(heads.values.shape).toEqual([5, 2, 2]);
    expect(heads.axes[0]!.labels).toEqual(['output', 'query', 'key', 'value', 'pattern']);
    const attnOnly = new HookedTransformer({ nLayers: 1, dModel: 8, nHeads: 2, dVocab: 7, nCtx: 5, attnOnly: true });
    const p = tinyPairs(attnOnly, 3, 2);
    expect(activationPatching(attnOnly, p, logitDiff(p), { preset: 'block_every' }).axes[0]!.labels).toEqual(['resid_pre', 'attn_out']);
  });
});
