import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { ValueError } from '../errors.ts';
import { SGD, type SGDOptions } from './sgd.ts';

// Written by scripts/mlp_golden.py with PyTorch: each optimizer run over four fixed gradients.
const golden = JSON.parse(readFileSync(new URL('../fixtures/mlp-adamw.json', import.meta.url), 'utf8')) as {
  optimizers: { shape: number[]; initial: number[]; grads: number[][]; cases: Array<{ optimizer: string; options: SGDOptions; after: number[][] }> };
};

describe('SGD', () => {
  it('takes a plain step p -= lr·g', () => {
    const p = tensor([1, -2], { requiresGrad: true });
    p.grad = tensor([0.5, 4]);
    new SGD([p], { lr: 0.1 }).step();
    expect(Array.from(p.data())).toEqual([Math.fround(0.95), Math.fround(-2.4)]);
  });

  it('starts the momentum buffer at the first gradient, then decays it', () => {
    const p = tensor([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    p.grad = tensor([0.5]);
    opt.step(); // buf = 0.5, p = 1 - 0.05
    expect(p.item()).toBeCloseTo(0.95, 6);
    opt.step(); // buf = 0.9 * 0.5 + 0.5 = 0.95, p = 0.95 - 0.095
    expect(p.item()).toBeCloseTo(0.855, 6);
    opt.step(); // buf = 0.9 * 0.95 + 0.5 = 1.355
    expect(p.item()).toBeCloseTo(0.855 - 0.1355, 6);
  });

  const { shape, initial, grads } = golden.optimizers;
  for (const c of golden.optimizers.cases.filter((c) => c.optimizer === 'SGD')) {
    it(`matches torch.optim.SGD step by step with ${JSON.stringify(c.options)}`, () => {
      const p = tensor(initial, { shape, requiresGrad: true });
      const opt = new SGD([p], c.options);
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

  it('rejects bad hyperparameters', () => {
    const p = tensor([1], { requiresGrad: true });
    expect(() => new SGD([p], { lr: -1 })).toThrow(ValueError);
    expect(() => new SGD([p], { lr: 0.1, momentum: -0.5 })).toThrow(/momentum/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(ValueError);
  });
});
