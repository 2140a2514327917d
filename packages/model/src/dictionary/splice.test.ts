import { Generator, ShapeError, type Tensor, add, gt, matmul, narrow, noGrad, randn, relu, sub, tensor, where, zerosLike } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { HookNameError, hookShape } from '../hook-names.ts';
import { HookedTransformer, type Metric } from '../hooked-transformer.ts';
import { type Dictionary, SAE_HOOK_SHAPES, reconstruct, saeHookName } from './dictionary.ts';
import { spliceDictionaries, withDictionaries } from './splice.ts';

const model = new HookedTransformer({ nLayers: 2, dModel: 8, nHeads: 2, dVocab: 11, nCtx: 6, dMlp: 12, seed: 4, initRange: 0.4 });
const tokens = tensor(
  [
    [0, 3, 5, 7, 2, 9],
    [0, 1, 4, 4, 8, 6],
  ],
  { dtype: 'int32' },
);

/** A ReLU dictionary with random weights, exposing its pre-activations. */
function reluDictionary(hookName: string, dIn: number, dSae: number, seed: number, outHookName = hookName, dOut = dIn): Dictionary & { W_enc: Tensor; W_dec: Tensor; b_dec: Tensor } {
  const generator = Generator.fromSeed(seed);
  const W_enc = randn([dIn, dSae], { generator }).mul(0.6); // [d_in, d_sae]
  const b_enc = randn([dSae], { generator }).mul(0.1);
  const W_dec = randn([dSae, dOut], { generator }).mul(0.4); // [d_sae, d_out]
  const b_dec = randn([dOut], { generator }).mul(0.1);
  const encodePre = (x: Tensor) => add(matmul(x, W_enc), b_enc);
  return {
    dIn,
    dSae,
    dOut,
    hookName,
    outHookName,
    W_enc,
    W_dec,
    b_dec,
    encodePre,
    activate: (pre) => relu(pre),
    encode: (x) => relu(encodePre(x)),
    decode: (f) => add(matmul(f, W_dec), b_dec),
  };
}

const HOOK = 'blocks.1.hook_resid_pre';
const sae = reluDictionary(HOOK, 8, 16, 1);
const name = (point: keyof typeof SAE_HOOK_SHAPES) => saeHookName(sae, point);

/** Σ of the last position's logits weighted by a fixed vector, a metric with a dense gradient. */
const metric: Metric = (logits) => {
  const w = tensor(Array.from({ length: 11 }, (_, i) => Math.sin(i + 1)));
  return narrow(logits, 1, 5, 1).mul(w).sum();
};

describe('splicing a dictionary', () => {
  test('with the error term the output is unchanged; without it, it is the reconstruction', () => {
    const clean = noGrad(() => model.forward(tokens));
    const withError = noGrad(() => withDictionaries(model, [sae], { includeError: true }, () => model.forward(tokens)));
    assertAllClose(withError, clean.data(), { atol: 1e-5, rtol: 1e-5 });
    const { logits, cache } = withDictionaries(model, [sae], {}, () => noGrad(() => model.runWithCache(tokens)));
    expect(Math.max(...Array.from(sub(logits, clean).abs().data()))).toBeGreaterThan(1e-3);
    const x = noGrad(() => model.runWithCache(tokens, { namesFilter: HOOK }).cache.get(HOOK));
    assertAllClose(cache.get(HOOK), noGrad(() => reconstruct(sae, x)).data(), { atol: 1e-5 });
    expect(cache.has(name('hook_sae_error'))).toBe(false);
  });

  test('adds SAELens hook points after the host, with their documented shapes, for the length of the call', () => {
    const before = model.hookNames();
    const { cache, names } = withDictionaries(model, [sae], { includeError: true }, () => ({ ...noGrad(() => model.runWithCache(tokens)), names: model.hookNames() }));
    const points = Object.keys(SAE_HOOK_SHAPES).map((p) => `${HOOK}.${p}`);
    expect(names.slice(names.indexOf(HOOK), names.indexOf(HOOK) + 7)).toEqual([HOOK, ...points]);
    expect(model.hookNames()).toEqual(before);
    const sizes: Record<string, number> = { batch: 2, pos: 6, d_in: 8, d_sae: 16, d_out: 8 };
    for (const [point, shape] of Object.entries(SAE_HOOK_SHAPES)) {
      const expected = shape.slice(1, -1).split(', ').map((d) => sizes[d]);
      expect(cache.get(`${HOOK}.${point}`).shape, point).toEqual(expected);
    }
    // The latents are the dictionary's encoding of the input; reconstruction plus error is the input.
    const x = cache.get(name('hook_sae_input'));
    assertAllClose(x, noGrad(() => model.runWithCache(tokens, { namesFilter: HOOK }).cache.get(HOOK)).data(), { atol: 1e-6 });
    assertAllClose(cache.get(name('hook_sae_acts_post')), noGrad(() => sae.encode(x)).data(), { atol: 1e-5 });
    assertAllClose(cache.get(name('hook_sae_acts_pre')), noGrad(() => sae.encodePre!(x)).data(), { atol: 1e-5 });
    assertAllClose(add(cache.get(name('hook_sae_recons')), cache.get(name('hook_sae_error'))), x.data(), { atol: 1e-5 });
    assertAllClose(cache.get(name('hook_sae_output')), x.data(), { atol: 1e-5 });
  });

  test('a spliced name is checked like any other, and unknown once the splice is gone', () => {
    withDictionaries(model, [sae], {}, () => {
      let error: unknown;
      try {
        model.runWithHooks(tokens, { fwdHooks: [[`${HOOK}.hook_sae_acts_pst`, () => {}]] });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HookNameError);
      expect((error as HookNameError).suggestions[0]).toBe(name('hook_sae_acts_post'));
    });
    expect(() => model.hookPoint(name('hook_sae_acts_post'))).toThrow(HookNameError);
  });

  test('patching latents changes the output while the error stays that of the clean reconstruction', () => {
    const ablate = [0, 3, 7];
    const mask = tensor(
      Array.from({ length: 16 }, (_, j) => (ablate.includes(j) ? 1 : 0)),
      { dtype: 'int32', shape: [1, 1, 16] },
    );
    const result = withDictionaries(model, [sae], { includeError: true }, () =>
      noGrad(() => {
        const seen = new Map<string, Tensor>();
        const logits = model.runWithHooks(tokens, {
          fwdHooks: [
            [name('hook_sae_acts_post'), (f) => where(mask, zerosLike(f), f)],
            [
              [name('hook_sae_input'), name('hook_sae_error'), name('hook_sae_output')],
              (a, h) => {
                seen.set(h.name, a);
              },
            ],
          ],
        });
        return { logits, seen };
      }),
    );
    const x = result.seen.get(name('hook_sae_input'))!;
    const latents = noGrad(() => sae.encode(x));
    const ablated = noGrad(() => where(mask, zerosLike(latents), latents));
    const cleanError = noGrad(() => sub(x, reconstruct(sae, x)));
    assertAllClose(result.seen.get(name('hook_sae_error'))!, cleanError.data(), { atol: 1e-5 });
    assertAllClose(result.seen.get(name('hook_sae_output'))!, noGrad(() => add(sae.decode(ablated), cleanError)).data(), { atol: 1e-5 });
    const clean = noGrad(() => model.forward(tokens));
    expect(Math.max(...Array.from(sub(result.logits, clean).abs().data()))).toBeGreaterThan(1e-4);
  });

  test('gradients reach the latents through the decoder only, and the error is a constant with a gradient of its own', () => {
    const { cache } = withDictionaries(model, [sae], { includeError: true }, () => model.runWithCache(tokens, { namesFilter: (n) => n.startsWith(HOOK), inclBwd: true, metric }));
    model.zeroGrad();
    const gOut = cache.get(`${name('hook_sae_output')}_grad`); // [batch, pos, d_out]
    const gPost = cache.get(`${name('hook_sae_acts_post')}_grad`);
    // output = f W_dec + b_dec + error, so ∂M/∂f = ∂M/∂output W_decᵀ; the error's gradient is the output's.
    assertAllClose(gPost, noGrad(() => matmul(gOut, sae.W_dec.transpose(0, 1))).data(), { atol: 1e-5, rtol: 1e-4 });
    assertAllClose(cache.get(`${name('hook_sae_error')}_grad`), gOut.data(), { atol: 1e-6 });
    // The encoder's input gets relu' · ∂M/∂f W_encᵀ.
    const pre = cache.get(name('hook_sae_acts_pre'));
    const gPre = noGrad(() => where(gt(pre, 0), gPost, zerosLike(gPost)));
    assertAllClose(cache.get(`${name('hook_sae_acts_pre')}_grad`), gPre.data(), { atol: 1e-6 });
    assertAllClose(cache.get(`${name('hook_sae_input')}_grad`), noGrad(() => matmul(gPre, sae.W_enc.transpose(0, 1))).data(), { atol: 1e-5, rtol: 1e-4 });
    // And ∂M/∂f matches central finite differences of the spliced model, latent by latent.
    const grad = gPost.data();
    const at = (b: number, p: number, j: number) => (b * 6 + p) * 16 + j;
    const bump = (b: number, p: number, j: number, eps: number) => {
      const delta = new Float32Array(2 * 6 * 16);
      delta[at(b, p, j)] = eps;
      const d = tensor(delta, { shape: [2, 6, 16] });
      return withDictionaries(model, [sae], { includeError: true }, () =>
        noGrad(() => metric(model.runWithHooks(tokens, { fwdHooks: [[name('hook_sae_acts_post'), (f) => add(f, d)]] }), tokens).item()),
      );
    };
    const eps = 1e-2;
    for (const [b, p, j] of [
      [0, 5, 2],
      [1, 5, 9],
      [1, 2, 4],
      [0, 3, 15],
    ] as const) {
      const fd = (bump(b, p, j, eps) - bump(b, p, j, -eps)) / (2 * eps);
      expect(Math.abs(fd - grad[at(b, p, j)]!), `latent ${j} at [${b}, ${p}]: fd ${fd}, grad ${grad[at(b, p, j)]}`).toBeLessThan(1e-2 * Math.abs(fd) + 2e-3);
    }
    expect(Math.max(...Array.from(grad, Math.abs))).toBeGreaterThan(1e-2);
  });

  test('with the error term, gradients upstream of the splice are the model\'s own; without it they run through the encoder', () => {
    const upstream = ['blocks.0.hook_resid_post', 'blocks.0.attn.hook_z', HOOK];
    const plain = model.runWithCache(tokens, { namesFilter: upstream, inclBwd: true, metric }).cache;
    const withError = withDictionaries(model, [sae], { includeError: true }, () => model.runWithCache(tokens, { namesFilter: upstream, inclBwd: true, metric }).cache);
    for (const n of upstream) assertAllClose(withError.get(`${n}_grad`), plain.get(`${n}_grad`).data(), { atol: 1e-6, rtol: 1e-4 }, n);
    const without = withDictionaries(model, [sae], {}, () => model.runWithCache(tokens, { namesFilter: [...upstream, name('hook_sae_input')], inclBwd: true, metric }).cache);
    model.zeroGrad();
    const gIn = without.get(`${name('hook_sae_input')}_grad`);
    assertAllClose(without.get('blocks.0.hook_resid_post_grad'), gIn.data(), { atol: 1e-6 });
    expect(Math.max(...Array.from(sub(gIn, plain.get(`${HOOK}_grad`)).abs().data()))).toBeGreaterThan(1e-3);
  });

  test('a transcoder reads one hook and writes another', () => {
    const transcoder = reluDictionary('blocks.0.hook_resid_mid', 8, 10, 2, 'blocks.0.hook_mlp_out');
    const clean = noGrad(() => model.runWithCache(tokens, { namesFilter: ['blocks.0.hook_resid_mid', 'blocks.0.hook_mlp_out'] }));
    const withError = noGrad(() => withDictionaries(model, [transcoder], { includeError: true }, () => model.forward(tokens)));
    assertAllClose(withError, clean.logits.data(), { atol: 1e-5, rtol: 1e-5 });
    const spliced = noGrad(() => withDictionaries(model, [transcoder], {}, () => model.runWithCache(tokens)));
    const mid = clean.cache.get('blocks.0.hook_resid_mid');
    assertAllClose(spliced.cache.get('blocks.0.hook_mlp_out'), noGrad(() => reconstruct(transcoder, mid)).data(), { atol: 1e-5 });
    assertAllClose(spliced.cache.get('blocks.0.hook_mlp_out.hook_sae_input'), mid.data(), { atol: 1e-6 });
    const names = withDictionaries(model, [transcoder], {}, () => model.hookNames());
    expect(names.indexOf('blocks.0.hook_mlp_out.hook_sae_acts_post')).toBe(names.indexOf('blocks.0.hook_resid_mid') + 3);
    expect(names.indexOf('blocks.0.hook_mlp_out.hook_sae_output')).toBe(names.indexOf('blocks.0.hook_mlp_out') + 2);
  });

  test('hook_z dictionaries read the heads flattened', () => {
    const z = reluDictionary('blocks.0.attn.hook_z', 8, 12, 3);
    const clean = noGrad(() => model.forward(tokens));
    const { logits, cache } = noGrad(() => withDictionaries(model, [z], { includeError: true }, () => model.runWithCache(tokens)));
    assertAllClose(logits, clean.data(), { atol: 1e-5, rtol: 1e-5 });
    expect(cache.get('blocks.0.attn.hook_z.hook_sae_input').shape).toEqual([2, 6, 8]);
    expect(cache.get('blocks.0.attn.hook_z').shape).toEqual(hookShape('blocks.0.attn.hook_z', model.cfg, 2, 6));
  });

  test('several dictionaries at once, removed by the returned function', () => {
    const before = model.hookNames();
    const clean = noGrad(() => model.forward(tokens));
    const remove = spliceDictionaries(model, [reluDictionary('blocks.0.hook_resid_pre', 8, 8, 5), sae], { includeError: true });
    expect(model.hookNames().length).toBe(before.length + 12);
    assertAllClose(noGrad(() => model.forward(tokens)), clean.data(), { atol: 1e-5, rtol: 1e-5 });
    const withoutError = spliceDictionaries(model, [reluDictionary('blocks.0.hook_mlp_out', 8, 8, 6)]);
    expect(Math.max(...Array.from(sub(noGrad(() => model.forward(tokens)), clean).abs().data()))).toBeGreaterThan(1e-4);
    withoutError();
    remove();
    remove();
    expect(model.hookNames()).toEqual(before);
  });

  test('bad dictionaries are refused, naming what was expected', () => {
    expect(() => spliceDictionaries(model, [reluDictionary('blocks.0.hook_resid_pr', 8, 4, 1)])).toThrow(HookNameError);
    expect(() => spliceDictionaries(model, [sae, reluDictionary(HOOK, 8, 4, 2)])).toThrow(/two dictionaries write the same hook/);
    expect(() => spliceDictionaries(model, [reluDictionary('blocks.1.hook_resid_pre', 8, 4, 1, 'blocks.0.hook_mlp_out')])).toThrow(/before the one it reads/);
    const wide = reluDictionary(HOOK, 9, 4, 1);
    expect(() => withDictionaries(model, [wide], {}, () => noGrad(() => model.forward(tokens)))).toThrow(ShapeError);
    withDictionaries(model, [sae], {}, () => {
      expect(() => spliceDictionaries(model, [sae])).toThrow(/hook name already in use/);
      expect(model.hookNames().filter((n) => n.includes('hook_sae'))).toHaveLength(5);
    });
    expect(model.hookNames().some((n) => n.includes('hook_sae'))).toBe(false);
  });
});
