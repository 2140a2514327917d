import { Adam, Generator, type Tensor, exp, mul, noGrad, randn, relu, sum, tensor } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, it } from 'vitest';
import type { Dictionary } from '@glassbox/model';
import { SparseFeatureData } from '../synthetic/sparse-features.ts';
import { BatchTopKSae } from './batch-topk.ts';
import { ARCHITECTURES, saeConfig } from './config.ts';
import { createSae } from './create.ts';
import { JumpReluSae, rectangleKernel } from './jump-relu.ts';
import { DEFAULT_STEP_CONTEXT, type StepContext } from './sparse-autoencoder.ts';
import { TopKSae } from './topk.ts';

const ctx = (overrides: Partial<StepContext> = {}): StepContext => ({ ...DEFAULT_STEP_CONTEXT, ...overrides });

function rowNonzeros(t: Tensor, width: number): number[] {
  const data = t.data();
  return Array.from({ length: data.length / width }, (_, r) => data.subarray(r * width, (r + 1) * width).filter((v) => v !== 0).length);
}

describe('the shared Dictionary contract', () => {
  for (const architecture of ARCHITECTURES) {
    it(`${architecture}: encode/decode keep leading axes and satisfy Dictionary`, () => {
      const sae: Dictionary = createSae(saeConfig({ architecture, dIn: 6, dSae: 12, k: 3, hookName: 'blocks.0.hook_resid_pre' }), { generator: Generator.fromSeed(1) });
      const x = randn([2, 3, 6], { generator: Generator.fromSeed(2) });
      const latents = sae.encode(x);
      expect(latents.shape).toEqual([2, 3, 12]);
      expect(sae.decode(latents).shape).toEqual([2, 3, 6]);
      expect([sae.dIn, sae.dSae, sae.dOut, sae.hookName, sae.outHookName]).toEqual([6, 12, 6, 'blocks.0.hook_resid_pre', 'blocks.0.hook_resid_pre']);
      expect(Math.min(...latents.data())).toBeGreaterThanOrEqual(0);
    });
  }

  it('topk keeps at most k latents per row, and encode is differentiable', () => {
    const sae = new TopKSae(saeConfig({ architecture: 'topk', dIn: 5, dSae: 16, k: 4 }), { generator: Generator.fromSeed(3) });
    const x = randn([7, 5], { generator: Generator.fromSeed(4) });
    const latents = sae.encode(x);
    expect(Math.max(...rowNonzeros(latents, 16))).toBeLessThanOrEqual(4);
    sum(latents).backward();
    expect(sae.W_enc.grad).not.toBeNull();
  });

  it('batchtopk infers with its threshold, jumprelu with per-latent thresholds', () => {
    const b = new BatchTopKSae(saeConfig({ architecture: 'batchtopk', dIn: 4, dSae: 8, k: 2 }), { generator: Generator.fromSeed(5) });
    b.importTensors({ ...b.exportTensors(), threshold: tensor(new Array(8).fill(0.3)) });
    expect(b.threshold).toBeCloseTo(0.3);
    const x = randn([6, 4], { generator: Generator.fromSeed(6) });
    const pre = b.preActivations(x).data();
    const got = b.encode(x).data();
    got.forEach((v, i) => {
      expect(v).toBe(pre[i]! > 0.3 ? pre[i] : 0);
    });
  });
});

describe('JumpReLU straight-through estimator', () => {
  it('leaves the forward value unchanged and gives the exact pseudo-derivatives', () => {
    const sae = new JumpReluSae(saeConfig({ architecture: 'jumprelu', dIn: 3, dSae: 4 }), { generator: Generator.fromSeed(7), initialThreshold: 0.1 });
    const x = randn([5, 3], { generator: Generator.fromSeed(8) });
    const eps = 0.5;
    const lambda = 0.7;
    const out = sae.trainStep(x, ctx({ jumpReluBandwidth: eps, sparsityCoefficient: lambda }));
    // Forward: the L0 term equals the count of active latents exactly.
    const pre = noGrad(() => sae.preActivations(x)).data() as Float32Array;
    const theta = noGrad(() => sae.threshold()).data() as Float32Array;
    const active = pre.filter((v, i) => v > theta[i % 4]!).length;
    expect(out.terms.sparsity!.item()).toBeCloseTo(active / 5, 6);
    out.loss.backward();
    // Backward through θ: d(loss)/dθ_j = Σ_b [dL/dz_bj · (−θ_j/ε) + λ/B · (−1/ε)] · 1{|pre − θ| < ε/2}.
    const recon = noGrad(() => sae.forward(x));
    const dRecon = noGrad(() => mul(mul(recon.sub(x), 2 / 5), 1)).data();
    const Wdec = sae.W_dec.data();
    const kernel = rectangleKernel(pre, theta, 5, eps);
    const expected = new Float32Array(4);
    for (let b = 0; b < 5; b++) {
      for (let j = 0; j < 4; j++) {
        let dz = 0;
        for (let i = 0; i < 3; i++) dz += dRecon[b * 3 + i]! * Wdec[j * 3 + i]!;
        const k = kernel[b * 4 + j]!;
        expected[j] = expected[j]! + dz * -theta[j]! * k + (lambda / 5) * -k;
      }
    }
    // log_threshold's gradient is θ times θ's.
    assertAllClose(sae.log_threshold.grad!, Array.from(expected, (v, j) => v * theta[j]!), { rtol: 1e-4, atol: 1e-6 });
  });

  it('the tanh sparsity loss is smooth in the latents', () => {
    const sae = new JumpReluSae(saeConfig({ architecture: 'jumprelu', dIn: 3, dSae: 4 }), { generator: Generator.fromSeed(9) });
    const out = sae.trainStep(randn([4, 3], { generator: Generator.fromSeed(10) }), ctx({ jumpReluSparsity: 'tanh', sparsityCoefficient: 1, preActCoefficient: 0.1 }));
    expect(Object.keys(out.terms).sort()).toEqual(['mse', 'preAct', 'sparsity']);
    out.loss.backward();
    expect(sae.b_enc.grad!.data().some((v) => v !== 0)).toBe(true);
  });
});

describe('training steps', () => {
  const data = new SparseFeatureData({ dIn: 8, numFeatures: 12, meanActive: 2, seed: 11 });
  const batches = Array.from({ length: 4 }, () => data.next(64));

  for (const architecture of ARCHITECTURES) {
    it(`${architecture}: Adam steps reduce the reconstruction error`, () => {
      const sae = createSae(saeConfig({ architecture, dIn: 8, dSae: 24, k: 2, matryoshkaWidths: [6, 12, 24] }), { generator: Generator.fromSeed(12) });
      const optimizer = new Adam(sae.parameters(), { lr: 0.01 });
      const mse = () => noGrad(() => batches.reduce((s, x) => s + sae.trainStep(x, ctx()).terms.mse!.item(), 0));
      const before = mse();
      for (let step = 0; step < 40; step++) {
        const out = sae.trainStep(batches[step % 4]!, ctx({ sparsityCoefficient: 1e-3, jumpReluBandwidth: 0.05 }));
        out.loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
      }
      expect(mse()).toBeLessThan(before * 0.6);
    });
  }

  it('batchtopk keeps batch·k latents and learns a positive threshold', () => {
    const sae = createSae(saeConfig({ architecture: 'batchtopk', dIn: 8, dSae: 24, k: 2 }), { generator: Generator.fromSeed(13) }) as BatchTopKSae;
    const out = sae.trainStep(batches[0]!, ctx({ thresholdLr: 0.5 }));
    expect(out.l0).toBeCloseTo(2, 6);
    expect(sae.threshold).toBeGreaterThan(0);
  });

  it('matryoshka adds one reconstruction loss per inner prefix', () => {
    const sae = createSae(saeConfig({ architecture: 'matryoshka_batchtopk', dIn: 8, dSae: 24, k: 2, matryoshkaWidths: [6, 12, 24] }));
    const out = sae.trainStep(batches[0]!, ctx());
    expect(Object.keys(out.terms).sort()).toEqual(['mse', 'mse_prefix_0', 'mse_prefix_1']);
    const t = out.terms;
    expect(out.loss.item()).toBeCloseTo(t.mse!.item() + t.mse_prefix_0!.item() + t.mse_prefix_1!.item(), 4);
  });

  it('AuxK sends gradient to dead latents the main loss never touches', () => {
    const sae = createSae(saeConfig({ architecture: 'topk', dIn: 8, dSae: 24, k: 1 }), { generator: Generator.fromSeed(14) }) as TopKSae;
    const x = batches[1]!;
    const main = sae.trainStep(x, ctx());
    const touched = new Set<number>();
    main.firing.forEach((c, j) => {
      if (c > 0) touched.add(j);
    });
    const dead = Uint8Array.from({ length: 24 }, (_, j) => (touched.has(j) ? 0 : 1));
    const out = sae.trainStep(x, ctx({ deadMask: dead, kAux: 4, auxkCoefficient: 1 }));
    expect(out.terms.auxk!.item()).toBeGreaterThan(0);
    out.loss.backward();
    const grad = sae.b_enc.grad!.data();
    expect([...dead.keys()].some((j) => dead[j] && grad[j] !== 0)).toBe(true);
  });

  it('the standard L1 is weighted by decoder norms only in penalty mode', () => {
    const sae = createSae(saeConfig({ architecture: 'standard', dIn: 8, dSae: 24 }), { generator: Generator.fromSeed(15) });
    const x = batches[2]!;
    const plain = sae.trainStep(x, ctx({ decoderNorm: 'unit' })).terms.l1!.item();
    const weighted = sae.trainStep(x, ctx({ decoderNorm: 'penalty' })).terms.l1!.item();
    const latents = noGrad(() => relu(sae.preActivations(x)));
    const norms = noGrad(() => sae.decoderNorms());
    expect(plain).toBeCloseTo(noGrad(() => sum(latents).item()) / 64, 4);
    expect(weighted).toBeCloseTo(noGrad(() => sum(mul(latents, norms)).item()) / 64, 4);
    // Decoder rows start at norm 0.1 (April 2024 heuristic) for the standard SAE.
    expect(noGrad(() => exp(sum(norms.log())).item() ** (1 / 24))).toBeCloseTo(0.1, 5);
  });
});
