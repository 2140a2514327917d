import { fileURLToPath } from 'node:url';
import { type Tensor, loadTensors } from '@glassbox/tensor';
import { describe, expect, it } from 'vitest';
import { loadPretrained } from './checkpoint.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/hf/', import.meta.url));

/** The largest |a − b|; infinities must match exactly (masked attention scores). */
function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.data();
  const y = b.data();
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (!Number.isFinite(p) || !Number.isFinite(q)) {
      if (p !== q) return Number.POSITIVE_INFINITY;
      continue;
    }
    worst = Math.max(worst, Math.abs(p - q));
  }
  return worst;
}

const CASES = [
  { name: 'gpt2-tiny', architecture: 'gpt2', allHooks: true },
  { name: 'pythia-tiny', architecture: 'gpt_neox', allHooks: true },
  { name: 'gpt2-tiny-sharded-f16', architecture: 'gpt2', allHooks: false },
  { name: 'pythia-tiny-sequential-bf16', architecture: 'gpt_neox', allHooks: false },
] as const;

describe.each(CASES)('parity with the PyTorch reference: $name', ({ name, architecture, allHooks }) => {
  it('matches the logits to 1e-4 and every recorded hook point', async () => {
    const { model, architecture: arch } = await loadPretrained(`${FIXTURES}${name}`);
    expect(arch).toBe(architecture);
    const ref = await loadTensors(`${FIXTURES}${name}.reference.safetensors`);
    const tokens = ref.tokens!;
    const { logits, cache } = model.runWithCache(tokens);
    expect(maxAbsDiff(logits, ref.logits!)).toBeLessThan(1e-4);
    const recorded = Object.keys(ref).filter((k) => k !== 'tokens' && k !== 'logits');
    for (const hook of recorded) {
      const diff = maxAbsDiff(cache.get(hook), ref[hook]!);
      expect(diff, hook).toBeLessThan(1e-4);
    }
    if (allHooks) {
      // Every hook point of the model has a reference activation.
      expect(model.hookNames().filter((h) => !recorded.includes(h))).toEqual([]);
    }
  });
});
