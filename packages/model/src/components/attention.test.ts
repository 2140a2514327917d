import { AdamW, availableBackends, setBackend, tensor, tidy } from '@glassbox/tensor';
import { describe, expect, test } from 'vitest';
import { HookedTransformer } from '../hooked-transformer.ts';

describe('Attention', () => {
  // The js backend has nothing to free, so the test runs where tidy() frees memory: wasm.
  test.skipIf(!availableBackends().includes('wasm'))('keeps its cached causal mask alive across tidy() training steps', () => {
    setBackend('wasm');
    const model = new HookedTransformer({ nLayers: 1, dModel: 8, nHeads: 2, dVocab: 11, nCtx: 6, attnOnly: true });
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    const tokens = tensor([[1, 2, 3, 4, 5, 6]], { dtype: 'int32' });
    const step = () =>
      tidy(() => {
        const loss = model.loss(tokens);
        loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
        return loss.item();
      });
    // The first step builds the mask inside tidy(); the later ones reuse it.
    const losses = [step(), step(), step()];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[2]).toBeLessThan(losses[0]!);
  });
});
