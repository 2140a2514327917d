import { Generator, ShapeError, type Tensor, ValueError, mul, noGrad, tensor, zerosLike } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { HookNameError, hookShape } from './hook-names.ts';
import { HookedTransformer } from './hooked-transformer.ts';
import { lmLoss } from './loss.ts';
import { REFERENCE_RUNS, loadReferenceRun } from './reference-fixture.ts';

function referenceModel(name: (typeof REFERENCE_RUNS)[number] = 'ln-standard-sequential') {
  const run = loadReferenceRun(name);
  const model = new HookedTransformer(run.config);
  model.loadStateDict(run.weights);
  return { run, model, tokens: run.tokens };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('hook points', () => {
  test.each(REFERENCE_RUNS)('every cached activation has its documented shape (%s)', (name) => {
    const { model, tokens } = referenceModel(name);
    const { cache } = model.runWithCache(tokens);
    expect(cache.keys().sort()).toEqual(model.hookNames().sort());
    for (const hook of model.hookNames()) expect(cache.get(hook).shape, hook).toEqual(hookShape(hook, model.cfg, 2, 6));
  });

  test('names follow the configuration', () => {
    const names = new HookedTransformer({ nLayers: 1, dModel: 8, nHeads: 2, dVocab: 5, nCtx: 4, positionalEmbeddingType: 'rotary', attnOnly: true, normalizationType: null }).hookNames();
    expect(names).toEqual([
      'hook_embed',
      'blocks.0.hook_resid_pre',
      'blocks.0.attn.hook_q',
      'blocks.0.attn.hook_k',
      'blocks.0.attn.hook_v',
      'blocks.0.attn.hook_rot_q',
      'blocks.0.attn.hook_rot_k',
      'blocks.0.attn.hook_attn_scores',
      'blocks.0.attn.hook_pattern',
      'blocks.0.attn.hook_z',
      'blocks.0.attn.hook_result',
      'blocks.0.hook_attn_out',
      'blocks.0.hook_resid_post',
    ]);
  });

  test('an unknown hook name raises an error that suggests the nearest names', () => {
    const { model, tokens } = referenceModel();
    const e = errorOf(() => model.hookPoint('blocks.0.attn.hook_zz'));
    expect(e).toBeInstanceOf(HookNameError);
    expect((e as HookNameError).suggestions[0]).toBe('blocks.0.attn.hook_z');
    expect(e.message).toMatch(/Did you mean `blocks\.0\.attn\.hook_z`/);
    const layer = errorOf(() => model.runWithHooks(tokens, { fwdHooks: [['blocks.7.hook_resid_pre', () => {}]] })) as HookNameError;
    expect(layer.suggestions).toContain('blocks.0.hook_resid_pre');
    const cache = model.runWithCache(tokens, { namesFilter: ['blocks.0.hook_resid_pre'] }).cache;
    expect(() => cache.get('blocks.0.hook_resid_post')).toThrow(/not in the cache/);
  });
});

describe('runWithHooks', () => {
  test('a forward hook that returns a tensor replaces the activation (head ablation = zeroing its W_O rows)', () => {
    const { model, run, tokens } = referenceModel();
    const ablated = model.runWithHooks(tokens, {
      fwdHooks: [
        [
          'blocks.1.attn.hook_z',
          (z) => {
            const keep = tensor([0, 1, 1, 1]).reshape([1, 1, 4, 1]);
            return mul(z, keep);
          },
        ],
      ],
    });
    const weights: Record<string, Tensor> = { ...run.weights };
    const wO = Float32Array.from(run.weights['blocks.1.attn.W_O']!.data());
    wO.fill(0, 0, 4 * 16); // head 0: [d_head, d_model]
    weights['blocks.1.attn.W_O'] = tensor(wO, { shape: [4, 4, 16] });
    const reference = new HookedTransformer(run.config);
    reference.loadStateDict(weights);
    assertAllClose(ablated, reference.forward(tokens).data(), { rtol: 1e-5, atol: 1e-5 });
    // The hook is gone afterwards: the model is unchanged.
    assertAllClose(model.forward(tokens), run.logits.data(), { rtol: 1e-4, atol: 1e-4 });
  });

  test('a filter can select many hook points; hooks see each one by name', () => {
    const { model, tokens } = referenceModel();
    const seen: string[] = [];
    model.runWithHooks(tokens, { fwdHooks: [[(name) => name.endsWith('hook_pattern'), (_, hook) => void seen.push(hook.name)]] });
    expect(seen).toEqual(['blocks.0.attn.hook_pattern', 'blocks.1.attn.hook_pattern']);
  });

  test('a replacement of the wrong shape is a ShapeError naming the hook', () => {
    const { model, tokens } = referenceModel();
    const e = errorOf(() => model.runWithHooks(tokens, { fwdHooks: [['blocks.0.hook_resid_mid', (x) => x.sum(-1)]] }));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('blocks.0.hook_resid_mid');
  });

  test('hooks are removed even when the call throws', () => {
    const { model, run, tokens } = referenceModel();
    const names = ['blocks.0.hook_resid_pre', 'blocks.1.attn.hook_pattern'];
    expect(() =>
      model.runWithHooks(tokens, {
        fwdHooks: [
          [names[0]!, (x) => mul(x, 2)],
          [
            names[1]!,
            () => {
              throw new Error('boom');
            },
          ],
        ],
        bwdHooks: [[names[0]!, () => {}]],
      }),
    ).toThrow('boom');
    for (const name of model.hookNames()) expect(model.hookPoint(name).isActive, name).toBe(false);
    assertAllClose(model.forward(tokens), run.logits.data(), { rtol: 1e-4, atol: 1e-4 });
  });

  test('a backward hook sees the gradient and may replace it', () => {
    const { model, run, tokens } = referenceModel();
    const grads: Tensor[] = [];
    model.zeroGrad();
    model.runWithHooks(tokens, {
      bwdHooks: [
        [
          'blocks.0.hook_resid_pre',
          (g) => {
            grads.push(g);
            return zerosLike(g);
          },
        ],
      ],
    });
    expect(grads).toHaveLength(1);
    assertAllClose(grads[0]!, run.grads['blocks.0.hook_resid_pre']!.data(), { rtol: 1e-4, atol: 1e-4 });
    // Everything upstream of resid_pre 0 received the replaced (zero) gradient.
    expect(Array.from(model.embed.W_E.grad!.data()).every((v) => v === 0)).toBe(true);
    expect(Array.from(model.blocks.at(0).attn.W_Q.grad!.data()).some((v) => v !== 0)).toBe(true);
    model.zeroGrad();
  });
});

describe('gradients with respect to hooked activations', () => {
  // A random linear functional of the logits, so that every position matters.
  const metricWeights = (shape: readonly number[]) => tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 1.7)), { shape });
  const metric = (logits: Tensor) => mul(logits, metricWeights(logits.shape)).sum();

  test.each([
    ['rms-rotary-parallel', 'blocks.0.attn.hook_rot_k'],
    ['ln-standard-sequential', 'blocks.0.ln1.hook_scale'],
    ['ln-standard-sequential', 'blocks.1.attn.hook_pattern'],
    ['ln-standard-sequential', 'blocks.0.mlp.hook_post'],
    ['ln-shortformer-attn-only', 'hook_pos_embed'],
  ] as const)('%s: d metric / d %s matches central differences', (name, hook) => {
    const { model, tokens } = referenceModel(name);
    const { cache } = model.runWithCache(tokens, { inclBwd: true, metric, namesFilter: [hook] });
    const grad = cache.get(`${hook}_grad`).data();
    const size = cache.get(hook).size;
    const h = 1e-2;
    const perturbed = (index: number, delta: number) =>
      noGrad(() => {
        const logits = model.runWithHooks(tokens, {
          fwdHooks: [
            [
              hook,
              (x) => {
                const bump = new Float32Array(size);
                bump[index] = delta;
                return x.add(tensor(bump, { shape: x.shape }));
              },
            ],
          ],
        });
        return metric(logits).item();
      });
    for (const index of [0, Math.floor(size / 3), size - 1, Math.floor((2 * size) / 3)]) {
      const numeric = (perturbed(index, h) - perturbed(index, -h)) / (2 * h);
      expect(Math.abs(numeric - grad[index]!), `${hook}[${index}]`).toBeLessThan(2e-3 + 2e-3 * Math.abs(numeric));
    }
    model.zeroGrad();
  });

  test('the default metric of inclBwd is the mean next-token loss', () => {
    const { model, tokens } = referenceModel();
    const withDefault = model.runWithCache(tokens, { inclBwd: true, namesFilter: ['hook_embed'] }).cache.get('hook_embed_grad');
    const explicit = model.runWithCache(tokens, { inclBwd: true, metric: lmLoss, namesFilter: ['hook_embed'] }).cache.get('hook_embed_grad');
    assertAllClose(withDefault, explicit.data());
    model.zeroGrad();
  });
});

describe('init', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const CONFIGS = [
    { nLayers: 2, dModel: 16, nHeads: 2, dVocab: 11, nCtx: 8, seed: 7 },
    { nLayers: 2, dModel: 16, nHeads: 4, dVocab: 11, nCtx: 8, positionalEmbeddingType: 'rotary', parallelAttnMlp: true, normalizationType: 'RMS', attnBias: false, seed: 1 },
  ] as const;

  test.each(CONFIGS)("'none' draws no random number, and 'random' (the default) does", (cfg) => {
    const draws = vi.spyOn(Generator.prototype, 'nextUint32');
    const blank = new HookedTransformer(cfg, { init: 'none' });
    expect(draws).not.toHaveBeenCalled();
    const random = new HookedTransformer(cfg);
    const weights = [...random.namedParameters()].filter(([name]) => /W_/.test(name)).reduce((n, [, p]) => n + p.size, 0);
    expect(draws.mock.calls.length).toBeGreaterThanOrEqual(weights);
    expect([...blank.namedParameters()].map(([name, p]) => [name, p.shape])).toEqual([...random.namedParameters()].map(([name, p]) => [name, p.shape]));
  });

  test("'none' leaves matrices and biases at zero and norm weights at one", () => {
    const model = new HookedTransformer(CONFIGS[0], { init: 'none' });
    for (const [name, p] of model.namedParameters()) {
      const expected = /ln\d?\w*\.w$/.test(name) ? 1 : 0;
      expect([...new Set(p.data())], name).toEqual([expected]);
    }
  });

  test("'random' is the default, seeded by cfg.seed", () => {
    const a = new HookedTransformer(CONFIGS[1]).stateDict();
    const b = new HookedTransformer(CONFIGS[1], { init: 'random' }).stateDict();
    const c = new HookedTransformer({ ...CONFIGS[1], seed: 2 }).stateDict();
    for (const key of Object.keys(a)) expect(b[key]!.data(), key).toEqual(a[key]!.data());
    expect(c['embed.W_E']!.data()).not.toEqual(a['embed.W_E']!.data());
  });

  test.each(REFERENCE_RUNS)("a model built with 'none' and then loaded gives exactly the logits of a random one loaded alike (%s)", (name) => {
    const run = loadReferenceRun(name);
    const random = new HookedTransformer(run.config);
    const blank = new HookedTransformer(run.config, { init: 'none' });
    random.loadStateDict(run.weights);
    blank.loadStateDict(run.weights);
    expect(blank.forward(run.tokens).data()).toEqual(random.forward(run.tokens).data());
  });

  test('an unknown init mode is a ValueError naming the option', () => {
    const e = errorOf(() => new HookedTransformer(CONFIGS[0], { init: 'zeros' as 'none' }));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toContain('options.init');
    expect(e.message).toContain('"zeros"');
  });
});
