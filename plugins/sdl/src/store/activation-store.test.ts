import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dictionary, HookedTransformer, withDictionaries } from '@glassbox/model';
import { Generator, type Tensor, tensor } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downstreamMetrics } from '../eval/downstream.ts';
import { evaluateDictionary } from '../eval/metrics.ts';
import { modelTopExamples } from '../eval/model-examples.ts';
import { ARCHITECTURES, saeConfig } from '../sae/config.ts';
import { createSae } from '../sae/create.ts';
import { trainSaes } from '../train/trainer.ts';
import { ActivationStore } from './activation-store.ts';
import type { HookedModelLike } from './hooked-model.ts';

const HOOK = 'blocks.0.hook_resid_post';
const model = new HookedTransformer({ nLayers: 2, dModel: 16, nHeads: 2, dMlp: 32, dVocab: 24, nCtx: 12, actFn: 'gelu', seed: 1 });

/** Sequences that start with BOS (id 0) and contain pads (id 1) at their ends. */
function tokens(n: number, seed: number): Tensor {
  const g = Generator.fromSeed(seed);
  const data = new Int32Array(n * 12);
  for (let s = 0; s < n; s++) for (let p = 1; p < 12; p++) data[s * 12 + p] = p >= 10 && s % 2 === 0 ? 1 : g.randint(2, 24);
  return tensor(data, { shape: [n, 12] });
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sdl-store-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const storeOptions = (overrides = {}) => ({ model, hookName: HOOK, tokens: tokens(16, 1), sequencesPerChunk: 8, sequencesPerForward: 4, excludeTokenIds: [0, 1], seed: 3, ...overrides });

describe('ActivationStore', () => {
  it('serves the hook activations at non-excluded positions, shuffled within a chunk', async () => {
    const store = await ActivationStore.create(storeOptions());
    expect(store.dIn).toBe(16);
    // Chunk 0: 8 sequences × 11 non-BOS positions, less 2 pads in each of 4 sequences = 80 rows.
    const served = (await store.next(80)).data();
    const { cache } = model.runWithCache(sliceRows(tokens(16, 1), 8), { namesFilter: HOOK });
    const acts = cache.get(HOOK).data();
    const ids = sliceRows(tokens(16, 1), 8).data();
    const kept: number[][] = [];
    for (let i = 0; i < 96; i++) if (ids[i]! > 1) kept.push(Array.from(acts.subarray(i * 16, (i + 1) * 16)));
    const rows = Array.from({ length: 80 }, (_, r) => Array.from(served.subarray(r * 16, (r + 1) * 16)));
    const key = (r: number[]) => r.map((v) => v.toFixed(4)).join();
    expect(rows.map(key).sort()).toEqual(kept.map(key).sort());
    expect(rows.map(key)).not.toEqual(kept.map(key));
  });

  it('normalises to the expected average norm', async () => {
    const store = await ActivationStore.create(storeOptions({ normalize: 'expected_average_norm' }));
    const x = (await store.next(80)).data();
    let total = 0;
    for (let r = 0; r < 80; r++) total += Math.hypot(...x.subarray(r * 16, (r + 1) * 16));
    expect(total / 80).toBeCloseTo(4, 4);
    expect(store.scale).not.toBe(1);
  });

  it('resumes from its state, and a disk cache replaces the model', async () => {
    const cacheDir = join(scratch, 'cache');
    const a = await ActivationStore.create(storeOptions({ cacheDir }));
    for (let i = 0; i < 3; i++) await a.next(50);
    const state = a.getState();
    const expected = [await a.next(50), await a.next(50)];
    const b = await ActivationStore.create(storeOptions());
    b.setState(state);
    assertAllClose(await b.next(50), expected[0]!.data(), { rtol: 0, atol: 0 });
    // 250 rows span chunks 0 to 3 (80 rows each).
    expect((await readdir(cacheDir)).sort()).toEqual(['chunk-000000.safetensors', 'chunk-000001.safetensors', 'chunk-000002.safetensors', 'chunk-000003.safetensors', 'store.json']);
    const refusing: HookedModelLike = {
      runWithHooks: () => {
        throw new Error('the cache should have been used');
      },
    };
    const c = await ActivationStore.create(storeOptions({ model: refusing, cacheDir }));
    c.setState(state);
    assertAllClose(await c.next(50), expected[0]!.data(), { rtol: 0, atol: 0 });
  });

  it('every architecture trains on the model activations, in one pass', async () => {
    const store = await ActivationStore.create(storeOptions({ tokens: tokens(64, 2), normalize: 'expected_average_norm' }));
    const first: Record<string, number> = {};
    const result = await trainSaes({
      source: store,
      steps: 30,
      batchSize: 64,
      runs: ARCHITECTURES.map((architecture, i) => ({
        name: architecture,
        sae: saeConfig({ architecture, dIn: 16, dSae: 48, k: 4, hookName: HOOK, matryoshkaWidths: [12, 24, 48] }),
        seed: i,
        lr: 5e-3,
        sparsityCoefficient: architecture === 'jumprelu' ? 1e-3 : 1e-2,
        jumpRelu: { bandwidth: 0.05 },
      })),
      onProgress: (p) => {
        if (p.step === 1) for (const r of p.runs) first[r.name] = r.terms.mse!;
      },
    });
    for (const run of result.runs) {
      expect(run.sae.hookName).toBe(HOOK);
      expect(run.metrics!.terms.mse!).toBeLessThan(first[run.name]! * 0.7);
    }
    // The store's normalisation is folded into the weights: the SAEs now take raw activations.
    expect(result.activationScale).toBe(store.scale);
    const raw = await ActivationStore.create(storeOptions({ tokens: tokens(64, 2) }));
    const topk = result.runs.find((r) => r.name === 'topk')!.sae;
    expect(topk.config.normalizeActivations).toBe('none');
    const metrics = await evaluateDictionary(topk, [await raw.next(256)]);
    expect(metrics.fvu).toBeLessThan(0.9);
  });
});

describe('splicing and downstream metrics', () => {
  const identity: Dictionary = { dIn: 16, dSae: 16, dOut: 16, hookName: HOOK, outHookName: HOOK, encode: (x) => x, decode: (f) => f };
  const halving: Dictionary = { ...identity, decode: (f) => f.mul(0.5) };
  const x = tokens(4, 5);

  it('a perfect dictionary recovers all of the loss with zero KL', () => {
    const m = downstreamMetrics(model, identity, x);
    expect(m.ceLossRecovered).toBeCloseTo(1, 5);
    expect(m.klDivergence).toBeCloseTo(0, 6);
    expect(m.klScore).toBeCloseTo(1, 5);
    expect(m.zeroAblationLoss).not.toBeCloseTo(m.cleanLoss, 2);
  });

  it('an imperfect one changes the output, and the error term restores the forward pass', () => {
    const m = downstreamMetrics(model, halving, x);
    expect(m.klDivergence).toBeGreaterThan(1e-4);
    expect(m.splicedLoss).not.toBeCloseTo(m.cleanLoss, 3);
    const clean = model.runWithHooks(x, {});
    const patched = withDictionaries(model, [halving], { includeError: true }, () => model.runWithHooks(x, {}));
    assertAllClose(patched, clean.data(), { rtol: 1e-5, atol: 1e-5 });
  });

  it.each(['topk', 'jumprelu'] as const)('%s SAEs splice into the model through its Dictionary contract', (architecture) => {
    const sae = createSae(saeConfig({ architecture, dIn: 16, dSae: 32, k: 4, hookName: HOOK }), { generator: Generator.fromSeed(3) });
    const clean = model.runWithHooks(x, {});
    const { logits, cache } = withDictionaries(model, [sae], { includeError: true }, () => model.runWithCache(x, { namesFilter: (n) => n.startsWith(`${HOOK}.`) }));
    assertAllClose(logits, clean.data(), { rtol: 1e-5, atol: 1e-5 });
    const latents = cache.get(`${HOOK}.hook_sae_acts_post`);
    expect(latents.shape).toEqual([...x.shape, 32]);
    assertAllClose(latents, sae.encode(cache.get(`${HOOK}.hook_sae_input`)).data(), { atol: 1e-6 });
    assertAllClose(cache.get(`${HOOK}.hook_sae_recons`), sae.decode(latents).data(), { atol: 1e-5 });
  });
});

describe('max-activating examples from a model', () => {
  it('collects context windows around the strongest activations, skipping BOS', () => {
    // Latent j is the j-th coordinate of the residual stream, clipped at zero.
    const coordinates: Dictionary = { dIn: 16, dSae: 16, dOut: 16, hookName: HOOK, outHookName: HOOK, encode: (x) => x.relu(), decode: (f) => f };
    const x = tokens(6, 7);
    const examples = modelTopExamples(model, coordinates, x, { topN: 3, before: 2, after: 1, excludeTokenIds: [0], latents: [0, 5] });
    expect(examples.map((e) => e.latent)).toEqual([0, 5]);
    const acts = model.runWithCache(x, { namesFilter: HOOK }).cache.get(HOOK).data();
    const ids = x.data();
    for (const { latent, top } of examples) {
      const all = [] as number[];
      for (let r = 0; r < 72; r++) if (ids[r] !== 0) all.push(Math.max(0, acts[r * 16 + latent]!));
      all.sort((a, b) => b - a);
      top.forEach((e, i) => {
        expect(e.activation).toBeCloseTo(all[i]!, 5);
        const { sequence, position, window, focus } = e.context;
        expect(window[focus]).toBe(ids[sequence * 12 + position]);
        expect(window.length).toBeLessThanOrEqual(4);
      });
    }
  });
});

function sliceRows(t: Tensor, n: number): Tensor {
  const len = t.shape[1]!;
  return tensor(t.data().slice(0, n * len), { shape: [n, len], dtype: t.dtype });
}
