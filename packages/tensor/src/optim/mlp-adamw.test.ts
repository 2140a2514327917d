import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { crossEntropy, tanh } from '../ops/index.ts';
import type { Tensor } from '../tensor.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { AdamW } from './adamw.ts';
import { clipGradNorm } from './clip-grad-norm.ts';
import { LRScheduler, cosineWithWarmup } from './schedules.ts';

interface Stored {
  shape: number[];
  data: number[];
}

// Written by scripts/mlp_golden.py with PyTorch.
const golden = JSON.parse(readFileSync(new URL('../fixtures/mlp-adamw.json', import.meta.url), 'utf8')) as {
  mlp: {
    config: { dIn: number; dHidden: number; nClasses: number; steps: number; warmupSteps: number; minLrRatio: number; maxNorm: number; lr: number; weightDecay: number };
    x: number[];
    y: number[];
    initial: Record<string, Stored>;
    losses: number[];
    gradNorms: number[];
    lrs: number[];
    finalLoss: number;
    final: Record<string, Stored>;
  };
};

/** Linear → tanh → Linear, with torch.nn.Sequential's names ('0' and '2'; the tanh is '1'). */
class MLP extends Module {
  readonly hidden: Linear;
  readonly out: Linear;
  constructor(dIn: number, dHidden: number, nClasses: number) {
    super();
    this.hidden = this.module('0', new Linear(dIn, dHidden));
    this.out = this.module('2', new Linear(dHidden, nClasses));
  }
  // [batch, d_in] -> [batch, n_classes]
  forward(x: Tensor): Tensor {
    return this.out.forward(tanh(this.hidden.forward(x)));
  }
}

function toTensors(dict: Record<string, Stored>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(dict).map(([k, v]) => [k, tensor(v.data, { shape: v.shape })]));
}

describe('a 2-layer MLP trained with AdamW matches PyTorch', () => {
  const g = golden.mlp;
  const c = g.config;
  const model = new MLP(c.dIn, c.dHidden, c.nClasses);
  model.loadStateDict(toTensors(g.initial));
  const x = tensor(g.x, { shape: [g.y.length, c.dIn] });
  const y = tensor(Int32Array.from(g.y));
  const opt = new AdamW(model.parameters(), { lr: c.lr, weightDecay: c.weightDecay });
  const scheduler = new LRScheduler(opt, cosineWithWarmup({ warmupSteps: c.warmupSteps, totalSteps: c.steps, minLrRatio: c.minLrRatio }));
  const losses: number[] = [];
  const norms: number[] = [];
  const lrs: number[] = [];
  for (let step = 0; step < c.steps; step++) {
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(x), y);
    losses.push(loss.item());
    loss.backward();
    norms.push(clipGradNorm(model.parameters(), c.maxNorm));
    lrs.push(opt.lr);
    opt.step();
    scheduler.step();
  }
  const finalLoss = crossEntropy(model.forward(x), y).item();

  it('has the same parameter names as torch', () => {
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(g.initial));
  });

  it('follows the same schedule', () => {
    lrs.forEach((lr, i) => {
      expect(lr).toBeCloseTo(g.lrs[i]!, 15);
    });
  });

  it('matches every step loss and gradient norm within 1e-4', () => {
    expect(losses).toHaveLength(g.losses.length);
    losses.forEach((loss, i) => {
      expect(Math.abs(loss - g.losses[i]!), `loss at step ${i}`).toBeLessThan(1e-4);
    });
    norms.forEach((norm, i) => {
      expect(Math.abs(norm - g.gradNorms[i]!), `grad norm at step ${i}`).toBeLessThan(1e-4);
    });
    // Clipping was active for some steps and not for others, so both paths are covered.
    expect(g.gradNorms.some((n) => n > c.maxNorm) && g.gradNorms.some((n) => n < c.maxNorm)).toBe(true);
  });

  it('ends at the same loss and weights', () => {
    expect(Math.abs(finalLoss - g.finalLoss)).toBeLessThan(1e-4);
    expect(finalLoss).toBeLessThan(g.losses[0]! / 2);
    const final = model.stateDict();
    for (const [key, want] of Object.entries(g.final)) {
      const got = final[key]!.data();
      want.data.forEach((w, i) => {
        expect(Math.abs(got[i]! - w), `${key}[${i}]`).toBeLessThan(1e-4 + 1e-4 * Math.abs(w));
      });
    }
  });
});
