import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from './backend.ts';
import { getBackend, setBackend } from './backends/index.ts';
import { gpuBackend, gpuMemory } from './backends/gpu/index.ts';
import { jsBackend } from './backends/js/index.ts';
import { hasWasmSimd, wasmBackend, wasmMemoryStats } from './backends/wasm/index.ts';
import { hasWasmMemory } from './backends/wasm/memory.ts';
import { tensor } from './creation.ts';
import { keep, tidy } from './scope.ts';
import type { Tensor } from './tensor.ts';

const gpu = gpuBackend as Backend<unknown>;
const wasm = wasmBackend as Backend<unknown>;
const live = () => ({ wasm: wasmMemoryStats()?.liveBlocks ?? 0, gpu: gpuMemory().liveBuffers });

describe('tidy() and keep() across backends', () => {
  let previous: string;
  beforeAll(() => {
    previous = getBackend().name;
  });
  afterAll(() => setBackend(previous));

  // First in the file: nothing has created the wasm memory yet.
  it('on the js backend, runs fn without creating wasm memory', () => {
    setBackend('js');
    const a = tensor([1, 2, 3]);
    const sum = tidy(() => a.mul(2).add(1).sum().item());
    expect(sum).toBe(15);
    expect(hasWasmMemory()).toBe(false);
    expect(Array.from(tidy(() => a.exp().log().add(a)).data())).toEqual([2, 4, 6]);
    expect(a.backend).toBe(jsBackend);
  });

  it.skipIf(!hasWasmSimd())('one tidy() frees the temporaries of both wasm and gpu', () => {
    setBackend('js');
    const w = tensor([1, 2, 3], { backend: wasm });
    const g = tensor([1, 2, 3], { backend: gpu });
    const before = live();
    const total = tidy(() => {
      const wt = w.mul(2).add(w).exp();
      const gt = g.mul(2).add(g).exp();
      expect(live().wasm).toBeGreaterThanOrEqual(before.wasm + 3);
      expect(live().gpu).toBeGreaterThanOrEqual(before.gpu + 3);
      return wt.sum().item() + gt.sum().item();
    });
    expect(total).toBeCloseTo(2 * (Math.exp(3) + Math.exp(6) + Math.exp(9)), 0);
    expect(live()).toEqual(before);
  });

  it.skipIf(!hasWasmSimd())('keeps what the result reaches and what keep() marks, on each backend', () => {
    const w = tensor([1, 2, 3], { backend: wasm });
    const g = tensor([1, 2, 3], { backend: gpu });
    const before = live();
    let keptW: Tensor | undefined;
    let keptG: Tensor | undefined;
    let droppedG: Tensor | undefined;
    const result = tidy(() => {
      keptW = keep(w.add(1));
      keptG = keep(g.add(1));
      droppedG = g.mul(5);
      return { w: w.mul(2), list: [g.mul(2)] };
    });
    expect(live()).toEqual({ wasm: before.wasm + 2, gpu: before.gpu + 2 });
    expect(Array.from(keptW!.data())).toEqual([2, 3, 4]);
    expect(Array.from(keptG!.data())).toEqual([2, 3, 4]);
    expect(Array.from(result.w.data())).toEqual([2, 4, 6]);
    expect(Array.from(result.list[0]!.data())).toEqual([2, 4, 6]);
    expect(() => droppedG!.data()).toThrow(/freed/);
    // Kept tensors survive an enclosing tidy() too.
    expect(tidy(() => keptW!.add(keptG!.sum().item()).sum().item())).toBe(36);
    expect(Array.from(keptG!.data())).toEqual([2, 3, 4]);
    for (const t of [keptW!, keptG!, result.w, result.list[0]!]) t.dispose();
    expect(live()).toEqual(before);
  });

  it.skipIf(!hasWasmSimd())('hands the inner result to the enclosing tidy(), which frees it', () => {
    const w = tensor([1, 2], { backend: wasm });
    const g = tensor([1, 2], { backend: gpu });
    const before = live();
    const sum = tidy(() => {
      const inner = tidy(() => [w.add(1).mul(2), g.add(1).mul(2)] as const);
      expect(live()).toEqual({ wasm: before.wasm + 1, gpu: before.gpu + 1 });
      return inner[0].sum().item() + inner[1].sum().item();
    });
    expect(sum).toBe(20);
    expect(live()).toEqual(before);
  });

  it.skipIf(!hasWasmSimd())('frees on both backends when fn throws, and the error passes through', () => {
    const w = tensor([1, 2], { backend: wasm });
    const g = tensor([1, 2], { backend: gpu });
    const before = live();
    let escaped: Tensor[] = [];
    expect(() =>
      tidy(() => {
        escaped = [w.exp(), g.exp()];
        throw new RangeError('step failed');
      }),
    ).toThrow(RangeError);
    expect(live()).toEqual(before);
    for (const t of escaped) expect(() => t.data()).toThrow(/freed/);
    // The scopes were closed: an outer tidy() still frees only what it created.
    const outer = tidy(() => {
      expect(() =>
        tidy(() => {
          g.exp();
          throw new Error('inner');
        }),
      ).toThrow('inner');
      return g.add(1);
    });
    expect(live()).toEqual({ wasm: before.wasm, gpu: before.gpu + 1 });
    outer.dispose();
  });

  it('refuses an async function, freeing what it created synchronously', async () => {
    setBackend('gpu');
    const before = gpuMemory().liveBuffers;
    const g = tensor([1, 2]);
    let pending: Promise<unknown> | undefined;
    expect(() =>
      tidy(() => {
        g.exp();
        pending = Promise.resolve(1);
        return pending;
      }),
    ).toThrow(/synchronous/);
    await pending;
    expect(gpuMemory().liveBuffers).toBe(before + 1);
    g.dispose();
  });
});
