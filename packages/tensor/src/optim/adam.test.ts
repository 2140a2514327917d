import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend.ts';
import { gpuBackend } from '../backends/gpu/index.ts';
import { jsBackend } from '../backends/js/index.ts';
import { hasWasmSimd, tidy, wasmBackend, wasmMemoryStats } from '../backends/wasm/index.ts';
import { tensor } from '../creation.ts';
import type { Tensor } from '../tensor.ts';
import { DTypeError, ValueError } from '../errors.ts';
import { Adam, type AdamOptions } from './adam.ts';
import { AdamW } from './adamw.ts';

// Written by scripts/mlp_golden.py with PyTorch: each optimizer run over four fixed gradients.
const golden = JSON.parse(readFileSync(new URL('../fixtures/mlp-adamw.json', import.meta.url), 'utf8')) as {
  optimizers: { shape: number[]; initial: number[]; grads: number[][]; cases: Array<{ optimizer: string; options: AdamOptions; after: number[][] }> };
};

describe('Adam and AdamW', () => {
  it('moves each element by about lr on the first step (bias correction)', () => {
    const p = tensor([1, 1, 1], { requiresGrad: true });
    p.grad = tensor([0.3, -2, 1e-3]);
    new Adam([p], { lr: 0.01 }).step();
    // m̂ = g and v̂ = g², so the step is lr · g / (|g| + eps).
    const want = [1 - 0.01, 1 + 0.01, 1 - (0.01 * 1e-3) / (1e-3 + 1e-8)];
    Array.from(p.data()).forEach((v, i) => {
      expect(v).toBeCloseTo(want[i]!, 6);
    });
  });

  it('puts Adam weight decay in the gradient and AdamW weight decay on the parameter', () => {
    const coupled = tensor([2], { requiresGrad: true });
    const decoupled = tensor([2], { requiresGrad: true });
    coupled.grad = tensor([0]);
    decoupled.grad = tensor([0]);
    new Adam([coupled], { lr: 0.1, weightDecay: 0.5 }).step();
    new AdamW([decoupled], { lr: 0.1, weightDecay: 0.5 }).step();
    // Adam: g = 0 + 0.5·2 = 1, a normalised step of lr. AdamW: p·(1 − 0.1·0.5), and g = 0 moves nothing else.
    expect(coupled.item()).toBeCloseTo(1.9, 6);
    expect(decoupled.item()).toBeCloseTo(1.9, 6);
    expect(new AdamW([decoupled]).hyper.weightDecay).toBe(1e-2);
    expect(new Adam([coupled]).hyper.weightDecay).toBe(0);
  });

  const { shape, initial, grads } = golden.optimizers;
  for (const c of golden.optimizers.cases.filter((c) => c.optimizer === 'Adam' || c.optimizer === 'AdamW')) {
    it(`matches torch.optim.${c.optimizer} step by step with ${JSON.stringify(c.options)}`, () => {
      const p = tensor(initial, { shape, requiresGrad: true });
      const opt = c.optimizer === 'Adam' ? new Adam([p], c.options) : new AdamW([p], c.options);
      grads.forEach((g, step) => {
        p.grad = tensor(g, { shape });
        opt.step();
        const got = p.data();
        c.after[step]!.forEach((want, i) => {
          expect(Math.abs(got[i]! - want), `step ${step} element ${i}`).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-7);
        });
      });
    });
  }

  it('rejects bad hyperparameters and non-float parameters', () => {
    const p = tensor([1], { requiresGrad: true });
    expect(() => new Adam([p], { betas: [1, 0.999] })).toThrow(/beta/);
    expect(() => new AdamW([p], { eps: -1 })).toThrow(ValueError);
    expect(() => new AdamW([p], { lr: Number.NaN })).toThrow(/lr/);
    expect(() => new Adam([tensor(Int32Array.from([1]))])).toThrow(DTypeError);
    expect(() => new Adam([p, p])).toThrow(/twice/);
  });

  const backends = { js: jsBackend, ...(hasWasmSimd() ? { wasm: wasmBackend } : {}), gpu: gpuBackend } as Record<string, Backend<unknown>>;

  /** Three steps over a contiguous [37] parameter and a transposed (strided) [5, 3] one with a strided gradient. */
  function run(backend: Backend<unknown>, make: (params: Tensor[]) => Adam | AdamW): Float32Array[] {
    const values = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * 2);
    const flat = tensor(values(37, 0), { backend, requiresGrad: true });
    const strided = tensor(values(15, 1), { shape: [3, 5], backend, requiresGrad: true }).transpose();
    const opt = make([flat, strided]);
    for (let t = 1; t <= 3; t++) {
      flat.grad = tensor(values(37, t * 10).map((g) => g * 10 ** (t - 2)), { backend });
      strided.grad = tensor(values(15, t * 20), { shape: [3, 5], backend }).transpose();
      // A step inside tidy() must not free the optimizer's state buffers.
      tidy(() => opt.step());
    }
    return [flat, strided].map((p) => p.data() as Float32Array);
  }

  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  const configs: Array<[string, (params: Tensor[]) => Adam | AdamW]> = [
    ['Adam with L2 decay', (params) => new Adam(params, { lr: 0.05, weightDecay: 0.1 })],
    ['AdamW with amsgrad', (params) => new AdamW(params, { lr: 0.05, amsgrad: true })],
  ];
  for (const [name, make] of configs) {
    it(`gives the same bits on every backend, strided parameters included (${name})`, () => {
      const want = run(jsBackend as Backend<unknown>, make);
      expect(bits(want[1]!)).not.toEqual(bits(Float32Array.from({ length: 15 }, (_, i) => Math.sin(((i % 3) * 5 + Math.floor(i / 3)) * 1.7 + 1) * 2)));
      for (const [backendName, backend] of Object.entries(backends)) {
        run(backend, make).forEach((got, k) => {
          expect(bits(got), `${backendName} parameter ${k}`).toEqual(bits(want[k]!));
        });
      }
    });
  }

  it.skipIf(!hasWasmSimd())('steps in place on wasm: after the first step, a step allocates nothing', () => {
    const backend = wasmBackend as Backend<unknown>;
    const p = tensor(Float32Array.from({ length: 1001 }, (_, i) => Math.cos(i)), { backend, requiresGrad: true });
    p.grad = tensor(Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i)), { backend });
    const opt = new AdamW([p], { amsgrad: true });
    opt.step();
    const before = wasmMemoryStats()!.liveBytes;
    const first = p.data();
    opt.step();
    expect(wasmMemoryStats()!.liveBytes).toBe(before);
    expect(p.data()).not.toEqual(first);
  });
});
