import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { ShapeError, ValueError } from '../errors.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { crossEntropy, relu } from '../ops/index.ts';
import { generator } from '../random.ts';
import type { Tensor } from '../tensor.ts';
import { Adam } from './adam.ts';
import { AdamW } from './adamw.ts';
import { clipGradNorm } from './clip-grad-norm.ts';
import type { Optimizer, OptimizerStateDict } from './optimizer.ts';
import { LRScheduler, cosineWithWarmup } from './schedules.ts';
import { SGD } from './sgd.ts';

class Net extends Module {
  readonly a: Linear;
  readonly b: Linear;
  constructor(seed: number) {
    super();
    const g = generator(seed);
    this.a = this.module('a', new Linear(5, 16, { generator: g }));
    this.b = this.module('b', new Linear(16, 3, { generator: g }));
  }
  // [batch, 5] -> [batch, 3]
  forward(x: Tensor): Tensor {
    return this.b.forward(relu(this.a.forward(x)));
  }
}

const data = generator(3);
const x = tensor(Array.from({ length: 40 }, () => data.normal()), { shape: [8, 5] });
const y = tensor(Int32Array.from({ length: 8 }, () => data.randint(0, 3)));

function trainSteps(net: Net, opt: Optimizer, scheduler: LRScheduler, steps: number): number[] {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    const loss = crossEntropy(net.forward(x), y);
    losses.push(loss.item());
    loss.backward();
    clipGradNorm(net.parameters(), 1);
    opt.step();
    scheduler.step();
  }
  return losses;
}

/** A copy through plain arrays, as a checkpoint written to disk and read back would be. */
function roundTrip(dict: OptimizerStateDict): OptimizerStateDict {
  return {
    hyper: JSON.parse(JSON.stringify(dict.hyper)),
    state: dict.state.map((s) =>
      s === null ? null : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : tensor(Array.from(v.data()), { shape: v.shape })])),
    ),
  };
}

const makers: Array<[string, (ps: Tensor[]) => Optimizer]> = [
  ['SGD', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ['Adam', (ps) => new Adam(ps, { lr: 1e-2, amsgrad: true })],
  ['AdamW', (ps) => new AdamW(ps, { lr: 1e-2 })],
];

describe('optimizer state', () => {
  for (const [name, make] of makers) {
    it(`${name} resumes bit-identically from saved model, optimizer and scheduler state`, () => {
      const schedule = cosineWithWarmup({ warmupSteps: 3, totalSteps: 20, minLrRatio: 0.1 });
      const net = new Net(1);
      const opt = make(net.parameters());
      const scheduler = new LRScheduler(opt, schedule);
      trainSteps(net, opt, scheduler, 8);
      const checkpoint = { model: net.stateDict(), opt: roundTrip(opt.stateDict()), scheduler: scheduler.stateDict() };
      const continued = trainSteps(net, opt, scheduler, 8);

      const net2 = new Net(2);
      const opt2 = make(net2.parameters());
      const scheduler2 = new LRScheduler(opt2, schedule);
      net2.loadStateDict(checkpoint.model);
      opt2.loadStateDict(checkpoint.opt);
      scheduler2.loadStateDict(checkpoint.scheduler);
      const resumed = trainSteps(net2, opt2, scheduler2, 8);

      expect(resumed).toEqual(continued);
      const a = net.stateDict();
      const b = net2.stateDict();
      for (const key of Object.keys(a)) expect(b[key]!.data()).toEqual(a[key]!.data());
    });
  }

  it('skips parameters without a gradient and leaves their state empty', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const q = tensor([3], { requiresGrad: true });
    const opt = new Adam([p, q], { lr: 0.1 });
    p.grad = tensor([1, 1]);
    opt.step();
    expect(Array.from(q.data())).toEqual([3]);
    const state = opt.stateDict();
    expect(state.state[1]).toBeNull();
    expect(state.state[0]!.step).toBe(1);
    expect((state.state[0]!.expAvg as Tensor).shape).toEqual([2]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });

  it('a state dict is a snapshot', () => {
    const p = tensor([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    p.grad = tensor([1]);
    opt.step();
    const saved = opt.stateDict();
    opt.step();
    expect((saved.state[0]!.momentumBuffer as Tensor).item()).toBe(1);
  });

  it('rejects state from a different optimizer or parameter layout', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const sgd = new SGD([p], { lr: 0.1, momentum: 0.9 });
    const adam = new Adam([p]);
    p.grad = tensor([1, 1]);
    sgd.step();
    adam.step();
    expect(() => adam.loadStateDict(sgd.stateDict())).toThrow(ValueError);
    expect(() => new Adam([p, tensor([0], { requiresGrad: true })]).loadStateDict(adam.stateDict())).toThrow(/number of parameters/);
    const wrongShape = adam.stateDict();
    wrongShape.state[0]!.expAvg = tensor([1, 2, 3]);
    expect(() => adam.loadStateDict(wrongShape)).toThrow(ShapeError);
    const wrongKeys = adam.stateDict();
    delete wrongKeys.state[0]!.expAvgSq;
    expect(() => adam.loadStateDict(wrongKeys)).toThrow(/wrong keys/);
  });

  it('rejects a gradient of the wrong size', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    p.grad = tensor([1, 2, 3]);
    expect(() => new SGD([p], { lr: 0.1 }).step()).toThrow(ShapeError);
  });

  it('updates in place, off the tape', () => {
    const lin = new Linear(2, 2, { generator: generator(0) });
    const weight = lin.weight;
    const opt = new SGD(lin.parameters(), { lr: 0.1 });
    lin.forward(tensor([[1, 2]])).sum().backward();
    opt.step();
    expect(lin.weight).toBe(weight);
    expect(weight.isLeaf).toBe(true);
    expect(weight.requiresGrad).toBe(true);
  });
});
