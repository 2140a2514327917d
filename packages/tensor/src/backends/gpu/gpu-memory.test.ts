import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Linear, SGD, crossEntropy, gelu, getBackend, manualSeed, randn, setBackend, tensor } from '../../index.ts';
import { tidy } from '../../scope.ts';
import { gpuMemory } from './index.ts';

// In a file of its own, so that no tensor from another test is alive (or collected) meanwhile.
describe('gpu backend memory over training', () => {
  let previous: string;
  beforeAll(() => {
    previous = getBackend().name;
    setBackend('gpu');
  });
  afterAll(() => setBackend(previous));

  it('does not grow over 1,000 training steps of a small MLP', () => {
    manualSeed(0);
    const l1 = new Linear(4, 16);
    const l2 = new Linear(16, 3);
    const params = [...l1.parameters(), ...l2.parameters()];
    const optimizer = new SGD(params, { lr: 0.1 });
    const x = randn([8, 4]);
    const y = tensor(new Int32Array([0, 1, 2, 0, 1, 2, 0, 1]));
    const step = () =>
      tidy(() => {
        optimizer.zeroGrad();
        const loss = crossEntropy(l2.forward(gelu(l1.forward(x))), y);
        loss.backward();
        optimizer.step();
        return loss.item();
      });
    const first = step();
    const live = gpuMemory().liveBuffers;
    const bytes = gpuMemory().liveBytes;
    let last = first;
    for (let i = 1; i < 1000; i++) {
      last = step();
      expect(gpuMemory().liveBuffers).toBe(live);
    }
    expect(gpuMemory().liveBytes).toBe(bytes);
    expect(last).toBeLessThan(first);
  });
});
