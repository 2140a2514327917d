import { describe, expect, it } from 'vitest';
import type { Backend } from '../../backend.ts';
import { noGrad } from '../../autograd/graph.ts';
import { tensor } from '../../creation.ts';
import { crossEntropy, layerNorm, matmul, relu } from '../../ops/index.ts';
import { SGD } from '../../optim/index.ts';
import { RangeAllocator, UNIT } from './allocator.ts';
import { wasmBackend } from './index.ts';
import { wasmMemory } from './memory.ts';
import { keep, tidy, wasmMemoryStats } from './scope.ts';
import { rng } from './test-views.ts';

describe('RangeAllocator', () => {
  it('reuses, coalesces and lowers the top, never overlapping live blocks', () => {
    let capacity = 0;
    const alloc = new RangeAllocator(UNIT, (bytes) => {
      capacity = Math.max(capacity, bytes);
    });
    const random = rng(3);
    const live = new Map<number, number>();
    const checkDisjoint = () => {
      const blocks = [...live].sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < blocks.length; i++) expect(blocks[i - 1]![0] + blocks[i - 1]![1]).toBeLessThanOrEqual(blocks[i]![0]);
    };
    for (let step = 0; step < 20_000; step++) {
      if (step % 1000 === 0) checkDisjoint();
      if (live.size > 0 && random() < 0.5) {
        const keys = [...live.keys()];
        const ptr = keys[Math.floor(random() * keys.length)]!;
        alloc.free(ptr, live.get(ptr)!);
        live.delete(ptr);
      } else {
        const bytes = Math.floor(random() ** 3 * 100_000) + 1;
        const ptr = alloc.alloc(bytes);
        expect(ptr % UNIT).toBe(0);
        expect(ptr + bytes).toBeLessThanOrEqual(capacity);
        live.set(ptr, bytes);
      }
    }
    for (const [p, b] of live) alloc.free(p, b);
    const stats = alloc.stats();
    expect(stats).toMatchObject({ liveBytes: 0, liveBlocks: 0, freeBlocks: 0, topBytes: UNIT });
  });

  it('serves a repeated pattern from the same addresses', () => {
    const alloc = new RangeAllocator(0, () => {});
    const round = () => {
      const ptrs = [300, 5000, 64, 70_000, 300].map((b) => [alloc.alloc(b), b] as const);
      for (const [p, b] of ptrs.reverse()) alloc.free(p, b);
      return ptrs.map(([p]) => p);
    };
    const first = round();
    for (let i = 0; i < 10; i++) expect(round()).toEqual(first);
  });
});

describe('wasm memory in a training loop', () => {
  it('stays bounded over 10,000 steps under tidy()', () => {
    const random = rng(9);
    const randn = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
    const backend = wasmBackend as Backend<unknown>;
    const w1 = tensor(randn(16 * 32), { shape: [16, 32], backend, requiresGrad: true });
    const w2 = tensor(randn(32 * 8), { shape: [32, 8], backend, requiresGrad: true });
    const gamma = tensor(new Float32Array(32).fill(1), { backend, requiresGrad: true });
    const optimizer = new SGD([w1, w2, gamma], { lr: 0.01, momentum: 0.9 });
    const targets = tensor(Int32Array.from({ length: 8 }, (_, i) => i % 8), { backend });
    const step = () =>
      tidy(() => {
        const x = tensor(randn(8 * 16), { shape: [8, 16], backend });
        const h = layerNorm(relu(matmul(x, w1)), gamma);
        const loss = crossEntropy(matmul(h, w2), targets);
        loss.backward();
        optimizer.step();
        noGrad(() => {
          for (const p of [w1, w2, gamma]) p.grad = null;
        });
        return loss.item();
      });
    // The first step also allocates the matmul kernel's packing scratch, which is kept for reuse.
    const first = step();
    const before = wasmMemoryStats()!;
    let last = 0;
    let top = 0;
    for (let i = 1; i < 10_000; i++) {
      const loss = step();
      last = loss;
      if (i === 100) top = wasmMemoryStats()!.peakTopBytes;
    }
    const after = wasmMemoryStats()!;
    // Every intermediate was freed: live memory is what it was, and the space never grew after warm-up.
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.peakTopBytes).toBe(top);
    expect(Number.isFinite(last) && last < first).toBe(true);
  });

  it('stays bounded without tidy(), by spilling to the JavaScript heap', () => {
    const memory = wasmMemory();
    const saved = memory.stats().budgetBytes;
    memory.setBudget(4 * 2 ** 20);
    try {
      const random = rng(10);
      const backend = wasmBackend as Backend<unknown>;
      const w = tensor(Float32Array.from({ length: 64 * 64 }, () => random() - 0.5), { shape: [64, 64], backend, requiresGrad: true });
      const optimizer = new SGD([w], { lr: 0.05 });
      const target = tensor(new Float32Array(32 * 64).fill(0.5), { shape: [32, 64], backend });
      const x = tensor(Float32Array.from({ length: 32 * 64 }, () => random()), { shape: [32, 64], backend });
      const losses: number[] = [];
      for (let i = 0; i < 1500; i++) {
        const loss = matmul(x, w).sub(target).square().mean();
        loss.backward();
        optimizer.step();
        w.grad = null;
        losses.push(loss.item());
      }
      const stats = memory.stats();
      expect(stats.spills).toBeGreaterThan(0);
      expect(stats.memoryBytes).toBeLessThan(64 * 2 ** 20);
      expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 2);
    } finally {
      memory.setBudget(saved);
    }
  });

  it('keeps what tidy returns or keep() marks, and refuses freed tensors', () => {
    const backend = wasmBackend as Backend<unknown>;
    const a = tensor([1, 2, 3], { backend });
    const live = wasmMemoryStats()!.liveBlocks;
    let kept = a;
    const [returned] = tidy(() => {
      kept = keep(a.add(1));
      const dropped = a.mul(2);
      void dropped;
      return [a.add(a)];
    });
    expect(Array.from(returned!.data())).toEqual([2, 4, 6]);
    expect(Array.from(kept.data())).toEqual([2, 3, 4]);
    expect(wasmMemoryStats()!.liveBlocks).toBe(live + 2);
    let escaped = a;
    tidy(() => {
      escaped = a.mul(3);
    });
    expect(() => escaped.data()).toThrow(/freed/);
    returned!.dispose();
    kept.dispose();
    expect(wasmMemoryStats()!.liveBlocks).toBe(live);
  });

  it('nested scopes hand survivors to the enclosing scope', () => {
    const backend = wasmBackend as Backend<unknown>;
    const a = tensor([1, 2], { backend });
    const live = wasmMemoryStats()!.liveBlocks;
    tidy(() => {
      const inner = tidy(() => a.add(1));
      expect(wasmMemoryStats()!.liveBlocks).toBe(live + 1);
      return inner.sum().item();
    });
    expect(wasmMemoryStats()!.liveBlocks).toBe(live);
  });
});
