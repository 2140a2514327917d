import { describe, expect, test } from 'vitest';
import { grokkingSteps, modularAdditionData, trainModularAddition } from './modular-addition.ts';

describe('modular addition', () => {
  test('every pair appears once, labelled (a + b) mod p, split by the train fraction', () => {
    const data = modularAdditionData({ p: 7, trainFraction: 0.3, seed: 2 });
    expect(data.trainTokens.shape).toEqual([15, 3]);
    expect(data.testTokens.shape).toEqual([34, 3]);
    const rows = [...(data.trainTokens.toArray() as number[][]), ...(data.testTokens.toArray() as number[][])];
    const labels = [...Array.from(data.trainLabels.data()), ...Array.from(data.testLabels.data())];
    expect(new Set(rows.map(([a, b]) => `${a},${b}`)).size).toBe(49);
    rows.forEach(([a, b, eq], i) => {
      expect(eq).toBe(7);
      expect(labels[i]).toBe((a! + b!) % 7);
    });
    expect(modularAdditionData({ p: 7, trainFraction: 0.3, seed: 2 }).trainTokens.toArray()).toEqual(data.trainTokens.toArray());
    expect(() => modularAdditionData({ p: 7, trainFraction: 1 })).toThrow(/trainFraction/);
  });

  test('grokkingSteps finds the first steps over the thresholds and tells a delayed rise from a joint one', () => {
    const at = (step: number, trainAccuracy: number, testAccuracy: number) => ({ step, trainAccuracy, testAccuracy, trainLoss: 0, testLoss: 0 });
    const delayed = [at(100, 0.5, 0.05), at(200, 1, 0.1), at(300, 1, 0.2), at(400, 1, 0.6), at(500, 1, 0.96)];
    expect(grokkingSteps(delayed)).toEqual({ trainStep: 200, testStep: 500, testAccuracyAtTrainStep: 0.1, grokked: true });
    const joint = [at(100, 0.5, 0.4), at(200, 0.995, 0.9), at(300, 1, 0.97)];
    expect(grokkingSteps(joint)).toEqual({ trainStep: 200, testStep: 300, testAccuracyAtTrainStep: 0.9, grokked: false });
    expect(grokkingSteps(delayed.slice(0, 3))).toMatchObject({ trainStep: 200, testStep: null, grokked: false });
  });

  test('reduced form (p = 31): train accuracy reaches 1 while test accuracy lags, and test accuracy reaches 95% much later', async () => {
    const controller = new AbortController();
    const { history } = await trainModularAddition({
      p: 31,
      trainFraction: 0.5,
      steps: 800,
      dModel: 32,
      nHeads: 4,
      dMlp: 128,
      lr: 5e-3,
      weightDecay: 2,
      evalEvery: 25,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.eval && p.eval.testAccuracy! >= 0.95) controller.abort();
      },
    });
    const found = grokkingSteps(history);
    expect(found.trainStep).not.toBeNull();
    expect(found.testAccuracyAtTrainStep).toBeLessThan(0.5);
    expect(found.testStep).not.toBeNull();
    expect(found.testStep!).toBeGreaterThanOrEqual(3 * found.trainStep!);
    expect(found.grokked).toBe(true);
    // Train accuracy stays at 1 throughout the wait.
    expect(history.filter((e) => e.step >= found.trainStep!).every((e) => e.trainAccuracy >= 0.99)).toBe(true);
  }, 120_000);
});
