import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOS, HookNameError, HookedTransformer, InductionLanguage, inductionModelConfig, trainInduction } from '@glassbox/model';
import { Generator, type Tensor, ValueError, noGrad, tensor } from '@glassbox/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelSource, organismLanguage } from '../commands/model-source.ts';
import { evaluateDictionary } from '../eval/metrics.ts';
import { ARCHITECTURES, type Architecture, needsK, saeConfig } from '../sae/config.ts';
import { createSae } from '../sae/create.ts';
import { trainSaes } from '../train/trainer.ts';
import { captureActivation } from './hooked-model.ts';

const HOOK = 'blocks.0.hook_resid_post';
const ORGANISM = { dModel: 16, nHeads: 2, nCtx: 17, dVocab: 16, seed: 4 };
const K = 4;
/** L1 (standard, gated) and L0 (jumprelu) coefficients that give a few active latents at this scale. */
const COEFFICIENTS: Partial<Record<Architecture, number>> = { standard: 0.3, gated: 1.5, jumprelu: 0.03 };

let scratch = '';
let model: HookedTransformer;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sdl-organism-'));
  model = (await trainInduction({ ...ORGANISM, batch: 16, steps: 120, lr: 2e-2, evalEvery: 120, runDir: join(scratch, 'organism') })).model;
}, 60_000);
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The hook's activations at every non-BOS position of held-out sequences. // [rows, d_model] */
function heldOut(language: InductionLanguage, sequences: number): Tensor {
  const tokens = language.batch(Generator.fromSeed(987_654), sequences);
  const acts = noGrad(() => captureActivation(model, tokens, HOOK)).data() as Float32Array;
  const ids = tokens.data();
  const rows: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] !== BOS) rows.push(...acts.subarray(i * ORGANISM.dModel, (i + 1) * ORGANISM.dModel));
  return tensor(Float32Array.from(rows), { shape: [rows.length / ORGANISM.dModel, ORGANISM.dModel] });
}

describe("SAEs on a trained induction organism's activations", () => {
  it('the organism is trained, and its run directory gives back its own language', async () => {
    const language = await organismLanguage(join(scratch, 'organism'));
    // trainInduction seeds the bigram table with seed + 1 and repeats segments back to back.
    const reference = new InductionLanguage({ dVocab: ORGANISM.dVocab, seqLen: ORGANISM.nCtx, seed: ORGANISM.seed + 1, maxPrefix: 0, maxGap: 0 });
    expect(language).not.toBeNull();
    const tokens = reference.batch(Generator.fromSeed(1), 32);
    expect(language!.batch(Generator.fromSeed(1), 32).data()).toEqual(tokens.data());
    // Trained: it predicts its language far better than the same network at initialisation.
    const untrained = new HookedTransformer(inductionModelConfig(ORGANISM));
    const loss = (m: HookedTransformer) => noGrad(() => m.loss(tokens)).data()[0]!;
    expect(loss(model)).toBeLessThan(loss(untrained) - 0.15);
    expect(await organismLanguage(scratch)).toBeNull();
  });

  it('every architecture learns a sparse code of the hook: held-out FVU far below its value at initialisation', async () => {
    const source = await modelSource({ model, modelPath: join(scratch, 'organism'), hook: HOOK, tokens: '', tokensTensor: 'tokens', seed: 11 });
    expect(source.dIn).toBe(ORGANISM.dModel);
    const runs = ARCHITECTURES.map((architecture, i) => ({
      name: architecture,
      sae: saeConfig({ architecture, dIn: ORGANISM.dModel, dSae: 64, k: K, hookName: HOOK, matryoshkaWidths: [16, 32, 64] }),
      seed: i,
      // JumpReLU's log-threshold starts at log(0.001) and needs the larger rate to reach the activations' scale.
      lr: architecture === 'jumprelu' ? 3e-2 : 1e-2,
      sparsityCoefficient: COEFFICIENTS[architecture] ?? 0,
      jumpRelu: { bandwidth: 0.05 },
    }));
    const result = await trainSaes({ source, runs, steps: 200, batchSize: 128 });
    const reference = (await organismLanguage(join(scratch, 'organism')))!;
    const x = heldOut(reference, 64);
    for (const [i, run] of result.runs.entries()) {
      const initial = await evaluateDictionary(createSae(runs[i]!.sae, { generator: Generator.fromSeed(i) }), [x]);
      const trained = await evaluateDictionary(run.sae, [x]);
      expect(trained.fvu, run.name).toBeLessThan(0.2);
      expect(trained.fvu, run.name).toBeLessThan(initial.fvu * 0.2);
      if (needsK(run.sae.config.architecture)) {
        expect(trained.l0, run.name).toBeGreaterThan(K * 0.5);
        expect(trained.l0, run.name).toBeLessThan(K * 1.5);
      } else {
        // Penalised ones: a few of the 64 latents, fewer than the input has dimensions.
        expect(trained.l0, run.name).toBeGreaterThan(0.5);
        expect(trained.l0, run.name).toBeLessThan(ORGANISM.dModel);
      }
    }
  }, 60_000);

  it('a mistyped hook, a missing tokens file, no model or no token data fail with typed errors', async () => {
    const options = { model, modelPath: join(scratch, 'organism'), hook: HOOK, tokens: '', tokensTensor: 'tokens', seed: 1 };
    await expect(modelSource({ ...options, hook: 'blocks.0.hook_resid_pots' })).rejects.toThrow(HookNameError);
    await expect(modelSource({ ...options, hook: 'blocks.0.hook_resid_pots' })).rejects.toThrow(/blocks\.0\.hook_resid_post/);
    await expect(modelSource({ ...options, tokens: join(scratch, 'missing.safetensors') })).rejects.toThrow(ValueError);
    await expect(modelSource({ ...options, model: undefined })).rejects.toThrow(/--model/);
    await expect(modelSource({ ...options, modelPath: scratch })).rejects.toThrow(/--tokens/);
    await expect(modelSource({ ...options, hook: '' })).rejects.toThrow(/--hook/);
  });
});
