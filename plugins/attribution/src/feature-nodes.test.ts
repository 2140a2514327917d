import { type Dictionary, HookedTransformer } from '@glassbox/model';
import { Generator, Module, type Tensor, add, matmul, noGrad, randn, relu, zeros } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { activationPatching } from './activation-patching.ts';
import { attributionPatching } from './attribution-patching.ts';
import { featureAttribution, featurePatching } from './feature-nodes.ts';
import { tinyModel, tinyPairs } from './fixtures/tiny-models.ts';
import { logitDiff } from './metrics.ts';
import { pearson } from './stats.ts';

/** A ReLU dictionary with random weights, written against the model package's contract. */
function reluDictionary(hookName: string, dIn: number, dSae: number, seed: number, options: { outHookName?: string; decoderScale?: number } = {}): Dictionary {
  const generator = Generator.fromSeed(seed);
  const W_enc = randn([dIn, dSae], { generator }).mul(0.5); // [d_in, d_sae]
  const b_enc = randn([dSae], { generator }).mul(0.1);
  const W_dec = randn([dSae, dIn], { generator }).mul(options.decoderScale ?? 0.3); // [d_sae, d_out]
  const b_dec = zeros([dIn]);
  return {
    dIn,
    dSae,
    dOut: dIn,
    hookName,
    outHookName: options.outHookName ?? hookName,
    encode: (x: Tensor) => relu(add(matmul(x, W_enc), b_enc)),
    decode: (f: Tensor) => add(matmul(f, W_dec), b_dec),
  };
}

/** The same ReLU dictionary as a Module whose weights are parameters. */
class ReluModule extends Module implements Dictionary {
  readonly dIn: number;
  readonly dSae: number;
  readonly dOut: number;
  readonly hookName: string;
  readonly outHookName: string;
  readonly W_enc: Tensor;
  readonly b_enc: Tensor;
  readonly W_dec: Tensor;

  constructor(hookName: string, dIn: number, dSae: number, seed: number) {
    super();
    const generator = Generator.fromSeed(seed);
    this.W_enc = this.param('W_enc', randn([dIn, dSae], { generator }).mul(0.5));
    this.b_enc = this.param('b_enc', randn([dSae], { generator }).mul(0.1));
    this.W_dec = this.param('W_dec', randn([dSae, dIn], { generator }).mul(0.3));
    this.dIn = dIn;
    this.dSae = dSae;
    this.dOut = dIn;
    this.hookName = hookName;
    this.outHookName = hookName;
  }
  encode(x: Tensor): Tensor {
    return relu(add(matmul(x, this.W_enc), this.b_enc));
  }
  decode(f: Tensor): Tensor {
    return matmul(f, this.W_dec);
  }
}

const data = (t: { values: Tensor }) => Array.from(t.values.data());

describe('feature nodes', () => {
  const model = tinyModel('ln-sequential');
  const pairs = tinyPairs(model);
  const metric = logitDiff(pairs);
  const sae = reluDictionary('blocks.1.hook_resid_pre', 12, 24, 1);
  const transcoder = reluDictionary('blocks.0.hook_resid_mid', 12, 16, 2, { outHookName: 'blocks.0.hook_mlp_out' });
  const dictionaries = [transcoder, sae];

  // AtP is only as good as the model is linear: on the random-weight LayerNorm models it reaches
  // r ≈ 0.6–0.9 on plain residual nodes, so the comparison runs where residual AtP holds (r ≈ 0.97).
  test.each(['denoising', 'noising'] as const)('AtP of latents and error terms tracks activation patching (%s)', (direction) => {
    const model = tinyModel('no-norm-shortformer');
    const pairs = tinyPairs(model);
    const metric = logitDiff(pairs);
    const ap = featurePatching(model, pairs, metric, { dictionaries, direction });
    const atp = featureAttribution(model, pairs, metric, { dictionaries, direction });
    expect(atp.cost).toEqual({ forward: 2, backward: 1 });
    expect(ap.values.shape).toEqual([9, 16 + 1 + 24 + 1]);
    expect(atp.axes).toEqual(ap.axes);
    expect(ap.axes[1]!.labels.slice(15, 18)).toEqual(['blocks.0.hook_mlp_out:15', 'blocks.0.hook_mlp_out:error', 'blocks.1.hook_resid_pre:0']);
    // Every latent and error node at every position, both ways.
    const r = pearson(data(atp), data(ap));
    expect(r, `Pearson r ${r}`).toBeGreaterThan(0.9);
    // Not a correlation carried by a few nodes: the latents alone agree too.
    const latentColumns = (t: { values: Tensor }) => data(t).filter((_, i) => i % 42 !== 16 && i % 42 !== 41);
    expect(pearson(latentColumns(atp), latentColumns(ap))).toBeGreaterThan(0.9);
    expect(Math.max(...latentColumns(ap).map(Math.abs))).toBeGreaterThan(1e-2);
    // With the error terms the spliced model is the model: its metrics are the unspliced ones.
    const plain = activationPatching(model, pairs, metric, { preset: 'resid_pre', direction });
    expect(ap.baseMetric).toBeCloseTo(plain.baseMetric, 4);
    expect(ap.sourceMetric).toBeCloseTo(plain.sourceMetric, 4);
    expect(atp.baseMetric).toBeCloseTo(plain.baseMetric, 4);
  });

  test('an error term that carries the whole activation is the residual-stream node at its position', () => {
    const nothing: Dictionary = { ...reluDictionary('blocks.1.hook_resid_pre', 12, 8, 3), decode: (f) => matmul(f, zeros([8, 12])) };
    for (const direction of ['denoising', 'noising'] as const) {
      const ap = featurePatching(model, pairs, metric, { dictionaries: [nothing], direction });
      const atp = featureAttribution(model, pairs, metric, { dictionaries: [nothing], direction });
      const residAp = activationPatching(model, pairs, metric, { preset: 'resid_pre', direction });
      const residAtp = attributionPatching(model, pairs, metric, { preset: 'resid_pre', direction });
      const errorColumn = (t: { values: Tensor }) => data(t).filter((_, i) => i % 9 === 8);
      assertAllClose(errorColumn(ap), residAp.values.data().slice(9), { atol: 1e-5, rtol: 1e-4 }, `AP ${direction}`);
      assertAllClose(errorColumn(atp), residAtp.values.data().slice(9), { atol: 1e-5, rtol: 1e-4 }, `AtP ${direction}`);
      expect(Math.max(...residAp.values.data().slice(9).map(Math.abs))).toBeGreaterThan(1e-3);
      // Latents the decoder ignores change nothing.
      expect(data(ap).filter((_, i) => i % 9 !== 8).every((v) => v === 0)).toBe(true);
      expect(data(atp).filter((_, i) => i % 9 !== 8).every((v) => v === 0)).toBe(true);
    }
  });

  test('AtP is exact where the metric is linear in the latents: a dictionary on the last residual stream without normalisation', () => {
    const linear = new HookedTransformer({ nLayers: 2, dModel: 10, nHeads: 2, dVocab: 9, nCtx: 7, dMlp: 12, normalizationType: null, seed: 9 });
    const linearPairs = tinyPairs(linear, 4, 3);
    const m = logitDiff(linearPairs);
    const last = reluDictionary('blocks.1.hook_resid_post', 10, 14, 4, { decoderScale: 1 });
    for (const granularity of ['pos', 'all_pos'] as const) {
      for (const direction of ['denoising', 'noising'] as const) {
        const ap = featurePatching(linear, linearPairs, m, { dictionaries: [last], direction, granularity });
        const atp = featureAttribution(linear, linearPairs, m, { dictionaries: [last], direction, granularity });
        expect(ap.values.shape).toEqual(granularity === 'pos' ? [7, 15] : [15]);
        assertAllClose(atp.values, ap.values.data(), { atol: 1e-4, rtol: 1e-3 }, `${granularity} ${direction}`);
        expect(Math.max(...data(ap).map(Math.abs))).toBeGreaterThan(1e-3);
      }
    }
  });

  test('without error terms the nodes are only the latents, and the metrics are the spliced model\'s', () => {
    const ap = featurePatching(model, pairs, metric, { dictionaries: [sae], includeError: false, granularity: 'all_pos' });
    const atp = featureAttribution(model, pairs, metric, { dictionaries: [sae], includeError: false, granularity: 'all_pos' });
    expect(ap.axes.map((a) => a.name)).toEqual(['feature']);
    expect(ap.axes[0]!.labels).toHaveLength(24);
    expect(ap.axes[0]!.labels.some((l) => l.endsWith(':error'))).toBe(false);
    const unspliced = noGrad(() => metric(model.forward(pairs.corrupted)).item());
    expect(Math.abs(ap.baseMetric - unspliced)).toBeGreaterThan(1e-4);
    expect(atp.baseMetric).toBeCloseTo(ap.baseMetric, 5);
    expect(pearson(data(atp), data(ap))).toBeGreaterThan(0.9);
    // The splice is gone afterwards.
    expect(model.hookNames().some((n) => n.includes('hook_sae'))).toBe(false);
  });

  test('a dictionary that is a Module keeps its parameters out of the backward pass', () => {
    const module = new ReluModule('blocks.1.hook_resid_pre', 12, 24, 1);
    const atp = featureAttribution(model, pairs, metric, { dictionaries: [module] });
    expect(module.parameters().every((p) => p.grad === null && p.requiresGrad)).toBe(true);
    assertAllClose(atp.values, featureAttribution(model, pairs, metric, { dictionaries: [sae] }).values.data(), { atol: 1e-6 });
    expect(Math.max(...data(atp).map(Math.abs))).toBeGreaterThan(1e-3);
  });

  test('refuses an empty dictionary list and an unknown granularity', () => {
    expect(() => featurePatching(model, pairs, metric, { dictionaries: [] })).toThrow(/no dictionaries/);
    expect(() => featureAttribution(model, pairs, metric, { dictionaries: [sae], granularity: 'dest_src' as 'pos' })).toThrow(/unknown granularity/);
  });
});
