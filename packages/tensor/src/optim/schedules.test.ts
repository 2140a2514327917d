import { describe, expect, it } from 'vitest';
import { tensor } from '../creation.ts';
import { ValueError } from '../errors.ts';
import { LRScheduler, constantSchedule, cosineWithWarmup, linearWarmup } from './schedules.ts';
import { SGD } from './sgd.ts';

describe('schedules', () => {
  it('constant is always 1', () => {
    const s = constantSchedule();
    expect([0, 1, 1000].map(s)).toEqual([1, 1, 1]);
  });

  it('linear warmup rises from 0 to 1 and stays there', () => {
    const s = linearWarmup(4);
    expect([0, 1, 2, 3, 4, 5, 100].map(s)).toEqual([0, 0.25, 0.5, 0.75, 1, 1, 1]);
    expect(linearWarmup(0)(0)).toBe(1);
  });

  it('cosine warms up, decays to the floor at totalSteps, and stays there', () => {
    const s = cosineWithWarmup({ warmupSteps: 2, totalSteps: 12, minLrRatio: 0.1 });
    expect(s(0)).toBe(0);
    expect(s(1)).toBe(0.5);
    expect(s(2)).toBe(1);
    expect(s(7)).toBeCloseTo(0.1 + 0.9 * 0.5, 12); // half way through the decay
    expect(s(12)).toBeCloseTo(0.1, 12);
    expect(s(50)).toBeCloseTo(0.1, 12);
    for (let t = 2; t < 12; t++) expect(s(t + 1)).toBeLessThan(s(t));
    expect(cosineWithWarmup({ totalSteps: 10 })(0)).toBe(1);
    expect(cosineWithWarmup({ totalSteps: 0 })(5)).toBe(0);
  });

  it('rejects bad arguments', () => {
    expect(() => linearWarmup(-1)).toThrow(ValueError);
    expect(() => cosineWithWarmup({ warmupSteps: 5, totalSteps: 3 })).toThrow(/totalSteps/);
    expect(() => cosineWithWarmup({ totalSteps: 3, minLrRatio: 2 })).toThrow(/minLrRatio/);
  });
});

describe('LRScheduler', () => {
  it('sets lr = base · schedule(step) on construction and on each step, and resumes from its state', () => {
    const opt = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.2 });
    const schedule = linearWarmup(4);
    const scheduler = new LRScheduler(opt, schedule);
    expect(opt.lr).toBe(0);
    scheduler.step();
    expect(opt.lr).toBeCloseTo(0.05, 15);
    scheduler.step();
    const saved = scheduler.stateDict();
    expect(saved).toEqual({ baseLr: 0.2, step: 2 });

    const opt2 = new SGD([tensor([1], { requiresGrad: true })], { lr: 0.2 });
    const resumed = new LRScheduler(opt2, schedule);
    resumed.loadStateDict(saved);
    expect(opt2.lr).toBe(opt.lr);
    scheduler.step();
    resumed.step();
    expect(opt2.lr).toBe(opt.lr);
    expect(resumed.stepCount).toBe(3);
  });
});
