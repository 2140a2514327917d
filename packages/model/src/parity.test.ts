import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { HookedTransformer } from './hooked-transformer.ts';
import { lmLoss } from './loss.ts';
import { REFERENCE_RUNS, loadReferenceRun } from './reference-fixture.ts';

const TOL = { rtol: 1e-4, atol: 1e-4 };

describe.each(REFERENCE_RUNS)('parity with the PyTorch reference: %s', (name) => {
  const run = loadReferenceRun(name);
  const model = new HookedTransformer(run.config);
  model.loadStateDict(run.weights);

  test('hook names are those the reference reached, in the same order', () => {
    expect(model.hookNames()).toEqual(run.hooks);
  });

  test('logits match to 1e-4', () => {
    assertAllClose(model.forward(run.tokens), run.logits.data(), TOL, 'logits');
  });

  test('every hook activation and its gradient of the loss match to 1e-4', () => {
    const { logits, cache } = model.runWithCache(run.tokens, { inclBwd: true });
    assertAllClose(logits, run.logits.data(), TOL, 'logits');
    expect(lmLoss(logits, run.tokens).item()).toBeCloseTo(run.loss, 4);
    for (const hook of run.hooks) {
      expect(cache.get(hook).shape, hook).toEqual(run.acts[hook]!.shape);
      assertAllClose(cache.get(hook), run.acts[hook]!.data(), TOL, hook);
      assertAllClose(cache.get(`${hook}_grad`), run.grads[hook]!.data(), TOL, `${hook}_grad`);
    }
  });
});
