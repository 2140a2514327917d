import { HookedTransformer, type Metric } from '@glassbox/model';
import { type Tensor, add, mul, noGrad, sub, where, zerosLike } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { type PatchDirection, activationPatching, runsFor } from './activation-patching.ts';
import { atpStar } from './atp-star.ts';
import { attributionPatching } from './attribution-patching.ts';
import { TINY_CONFIGS, tinyModel, tinyPairs } from './fixtures/tiny-models.ts';
import { type AttributionMetric, logitDiff } from './metrics.ts';
import { type PresetName, hookFor, nodeMask, nodesPerLayer, presetSpecs } from './patching-presets.ts';
import type { PromptPairs } from './prompt-pairs.ts';

/** M(base with node ← base + ε (source − base)), the patching path AtP linearises. */
function partialPatch(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, direction: PatchDirection, hook: string, mask: Tensor, eps: number): number {
  const { base, source } = runsFor(pairs, direction);
  const src = noGrad(() => model.runWithCache(source, { namesFilter: [hook] }).cache.get(hook));
  return noGrad(() => metric(model.runWithHooks(base, { fwdHooks: [[hook, (act) => where(mask, add(act, mul(sub(src, act), eps)), act)]] })).item());
}

const SINGLE_PRESETS: PresetName[] = [
  'resid_pre',
  'resid_mid',
  'attn_out',
  'mlp_out',
  'head_out_by_pos',
  'head_q_all_pos',
  'head_k_by_pos',
  'head_v_all_pos',
  'head_pattern_by_pos',
  'head_pattern_dest_src_pos',
];

describe('AtP', () => {
  test.each(Object.keys(TINY_CONFIGS))('equals the derivative of the metric along the patching path, for every node kind (%s)', (name) => {
    const model = tinyModel(name);
    const pairs = tinyPairs(model);
    const metric = logitDiff(pairs);
    const eps = 1e-2;
    SINGLE_PRESETS.forEach((preset, i) => {
      let specs: ReturnType<typeof presetSpecs>['specs'];
      try {
        specs = presetSpecs(model, preset, 'test').specs;
      } catch {
        return; // a site this architecture lacks
      }
      const direction: PatchDirection = i % 2 === 0 ? 'denoising' : 'noising';
      const result = attributionPatching(model, pairs, metric, { preset, direction });
      expect(result.cost).toEqual({ forward: 2, backward: 1 });
      const s = specs[0]!;
      const perLayer = nodesPerLayer(model, s, 9);
      const values = Float32Array.from(result.values.data());
      const scale = Math.max(...Array.from(values, Math.abs));
      // The strongest node of the grid and one more per layer.
      const strongest = values.reduce((best, v, j) => (Math.abs(v) > Math.abs(values[best]!) ? j : best), 0);
      for (const flat of [strongest, perLayer + 1 < values.length ? perLayer + 1 : 0]) {
        const layer = Math.floor(flat / perLayer);
        const mask = nodeMask(model, s, 9, flat % perLayer);
        const hook = hookFor(s.kind, layer);
        const fd = (partialPatch(model, pairs, metric, direction, hook, mask, eps) - partialPatch(model, pairs, metric, direction, hook, mask, -eps)) / (2 * eps);
        expect(Math.abs(fd - values[flat]!), `${preset} ${direction} node ${flat}: fd ${fd}, AtP ${values[flat]}`).toBeLessThan(2e-2 * Math.abs(fd) + 2e-3 * scale + 1e-5);
      }
    });
  });

  test('is exact where the metric is linear in the node: the last layer of a model without normalisation', () => {
    const withMlp = new HookedTransformer({ nLayers: 2, dModel: 10, nHeads: 2, dVocab: 9, nCtx: 7, dMlp: 12, normalizationType: null, seed: 9 });
    const attnOnly = new HookedTransformer({ nLayers: 2, dModel: 10, nHeads: 2, dVocab: 9, nCtx: 7, attnOnly: true, normalizationType: null, seed: 9 });
    const cases = [
      [withMlp, ['resid_post', 'mlp_out']],
      [attnOnly, ['resid_post', 'attn_out', 'head_out_by_pos', 'head_out_all_pos']],
    ] as const;
    for (const [model, presets] of cases) {
      const pairs = tinyPairs(model, 4, 3);
      const metric = logitDiff(pairs);
      for (const preset of presets) {
        for (const direction of ['denoising', 'noising'] as const) {
          const ap = activationPatching(model, pairs, metric, { preset, direction }).values;
          const atp = attributionPatching(model, pairs, metric, { preset, direction }).values;
          const lastLayer = ap.shape.slice(1).reduce((a, b) => a * b, 1);
          assertAllClose(atp.data().slice(lastLayer), ap.data().slice(lastLayer), { atol: 1e-4, rtol: 1e-3 }, `${preset} ${direction}`);
        }
      }
    }
  });
});

describe('AtP*', () => {
  /** ∂M/∂pattern at the base run, by the model's own backward hooks. */
  function patternGrad(model: HookedTransformer, tokens: Tensor, metric: AttributionMetric, hook: string): Tensor {
    const m: Metric = (logits) => metric(logits);
    const { cache } = model.runWithCache(tokens, { namesFilter: [hook], inclBwd: true, metric: m });
    model.zeroGrad();
    return cache.get(`${hook}_grad`);
  }

  test.each(['ln-sequential', 'rms-rotary-parallel'])('the QK fix is the pattern-level linearisation of an exactly recomputed softmax (%s)', (name) => {
    const model = tinyModel(name);
    const pairs = tinyPairs(model);
    const metric = logitDiff(pairs);
    for (const preset of ['head_q_by_pos', 'head_k_by_pos', 'head_q_all_pos', 'head_k_all_pos'] as const) {
      const direction: PatchDirection = preset.includes('_q_') ? 'noising' : 'denoising';
      const star = atpStar(model, pairs, metric, { preset, direction });
      const s = presetSpecs(model, preset, 'test').specs[0]!;
      const { base, source } = runsFor(pairs, direction);
      const perLayer = nodesPerLayer(model, s, 9);
      for (const layer of [0, 1]) {
        const hook = hookFor(s.kind, layer);
        const patternHook = `blocks.${layer}.attn.hook_pattern`;
        const src = noGrad(() => model.runWithCache(source, { namesFilter: [hook] }).cache.get(hook));
        const basePattern = noGrad(() => model.runWithCache(base, { namesFilter: [patternHook] }).cache.get(patternHook));
        const g = patternGrad(model, base, metric, patternHook);
        for (const index of [1, perLayer - 1]) {
          const mask = nodeMask(model, s, 9, index);
          let patchedPattern: Tensor | null = null;
          noGrad(() =>
            model.runWithHooks(base, {
              fwdHooks: [
                [hook, (act) => where(mask, src, act)],
                [
                  patternHook,
                  (p) => {
                    patchedPattern = p;
                  },
                ],
              ],
            }),
          );
          const expected = noGrad(() => mul(g, sub(patchedPattern!, basePattern)).sum().item());
          const got = star.values.data()[layer * perLayer + index]!;
          expect(Math.abs(got - expected), `${preset} layer ${layer} node ${index}: ${got} vs ${expected}`).toBeLessThan(1e-4 + 1e-3 * Math.abs(expected));
        }
      }
      // Values and outputs of other kinds are left to plain AtP.
    }
    const v = atpStar(model, pairs, metric, { preset: 'head_v_all_pos' }).values.data();
    assertAllClose(v, attributionPatching(model, pairs, metric, { preset: 'head_v_all_pos' }).values.data(), { atol: 1e-6, rtol: 1e-5 });
  });

  test('GradDrop sums |AtP| over layers with each layer gradient dropped', () => {
    const model = tinyModel('ln-sequential');
    const pairs = tinyPairs(model);
    const metric = logitDiff(pairs);
    const star = atpStar(model, pairs, metric, { preset: 'attn_out', gradDrop: true });
    expect(star.cost).toEqual({ forward: 2, backward: 3 });
    const atp = star.values.data();
    const gd = star.gradDrop!.values.data();
    // Last-layer nodes: dropping layer 0 leaves AtP, dropping layer 1 zeroes it; L − 1 = 1.
    assertAllClose(gd.slice(9), Array.from(atp.slice(9), Math.abs), { atol: 1e-6, rtol: 1e-5 });
    // Layer-0 nodes: only the drop of layer 1 counts: their direct path to the logits.
    const direct: Tensor[] = [];
    const m: Metric = (logits) => metric(logits);
    const { base, source } = runsFor(pairs, 'denoising');
    const src = noGrad(() => model.runWithCache(source, { namesFilter: ['blocks.0.hook_attn_out'] }).cache.get('blocks.0.hook_attn_out'));
    let baseAct: Tensor | null = null;
    model.runWithHooks(base, {
      fwdHooks: [
        [
          'blocks.0.hook_attn_out',
          (a) => {
            baseAct = a.detach();
          },
        ],
      ],
      bwdHooks: [
        ['blocks.1.hook_attn_out', (g) => zerosLike(g)],
        ['blocks.1.hook_mlp_out', (g) => zerosLike(g)],
        ['blocks.0.hook_attn_out', (g) => void direct.push(g)],
      ],
      metric: m,
    });
    model.zeroGrad();
    const expected = noGrad(() => mul(sub(src, baseAct!), direct[0]!).sum([0, 2])).data();
    assertAllClose(gd.slice(0, 9), Array.from(expected, Math.abs), { atol: 1e-6, rtol: 1e-4 });
  });
});
