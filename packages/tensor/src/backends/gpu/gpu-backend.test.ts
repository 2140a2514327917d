import { describe, expect, it } from 'vitest';
import { type Backend, type Tensor, concat, flip, gelu, narrow, pad, slice, softmax, tensor, topk } from '../../index.ts';
import { jsBackend } from '../js/index.ts';
import { gpuBackend, gpuInfo, gpuMemory, resetGpuCounters } from './index.ts';
import { keep, tidy } from './scope.ts';

const gpu = gpuBackend as unknown as Backend<unknown>;
const js = jsBackend as unknown as Backend<unknown>;

function both(values: number[], shape: number[]): [Tensor, Tensor] {
  const data = Float32Array.from(values);
  return [tensor(data, { shape, backend: gpu }), tensor(data, { shape, backend: js })];
}

function expectClose(actual: Tensor, expected: Tensor, tol = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.data();
  const e = expected.data();
  for (let i = 0; i < e.length; i++) expect(Math.abs(a[i]! - e[i]!), `element ${i}: ${a[i]} vs ${e[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(e[i]!)));
}

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('gpu backend', () => {
  it('reports the mode gpu.js chose, and whether that is a GPU at all', () => {
    const info = gpuInfo();
    expect(['webgpu', 'webgl2', 'webgl', 'headlessgl', 'webasm', 'cpu']).toContain(info.mode);
    expect(info.device).toBe(info.mode === 'webasm' || info.mode === 'cpu' ? 'cpu-fallback' : 'gpu');
    // Node has no WebGL or WebGPU; only the opt-in native `gl` build gives it a GPU mode.
    if (typeof document === 'undefined') expect(['headlessgl', 'webasm', 'cpu']).toContain(info.mode);
  });

  it('runs strided, broadcast and flipped views like the js reference', () => {
    const [g, j] = both(seq(24, (i) => Math.sin(i) * 3), [2, 3, 4]);
    const [gb, jb] = both([0.5, -1, 2, 4], [4]);
    expectClose(g.permute([2, 0, 1]).mul(gb.reshape([4, 1, 1])).exp(), j.permute([2, 0, 1]).mul(jb.reshape([4, 1, 1])).exp());
    expectClose(g.transpose().matmul(g.reshape([2, 3, 4])), j.transpose().matmul(j.reshape([2, 3, 4])));
    expectClose(softmax(flip(g, [1]), 1), softmax(flip(j, [1]), 1));
    expectClose(g.sum([0, 2]), j.sum([0, 2]));
    expectClose(g.max(1), j.max(1));
    expect(Array.from(g.argmax(2).data())).toEqual(Array.from(j.argmax(2).data()));
  });

  it('writes into strided regions of a buffer (copyFrom, concat, pad)', () => {
    const [g, j] = both(seq(12, (i) => i), [3, 4]);
    const [gs, js2] = both(seq(6, (i) => -i - 1), [3, 2]);
    slice(flip(g, [1]), [null, [0, 3, 2]]).copyFrom(gs);
    slice(flip(j, [1]), [null, [0, 3, 2]]).copyFrom(js2);
    expectClose(g, j);
    expectClose(pad(concat([g, g.T.reshape([3, 4])], 0), [[1, 0], [0, 2]], 7), pad(concat([j, j.T.reshape([3, 4])], 0), [[1, 0], [0, 2]], 7));
  });

  it('keeps tensors on the device between ops and reads back only when asked', () => {
    resetGpuCounters();
    const [g] = both(seq(64, (i) => i / 7), [8, 8]);
    const out = gelu(g.matmul(g).add(1)).sum(1);
    const { readbacks } = gpuMemory();
    out.data();
    const mode = gpuInfo().device;
    expect(readbacks).toBe(0);
    expect(gpuMemory().readbacks).toBe(mode === 'gpu' ? 1 : 0);
  });

  it('counts every op that falls back to the CPU', () => {
    resetGpuCounters();
    // Rows longer than the device topk takes go to the js reference.
    const values = seq(5000, (i) => Math.cos(i * 1.7));
    const [g, j] = both(values, [1, 5000]);
    const got = topk(g, 3);
    const want = topk(j, 3);
    expect(Array.from(got.indices.data())).toEqual(Array.from(want.indices.data()));
    expect(gpuMemory().fallbacks).toEqual({ topk: 1 });
    expect(topk(narrow(g, 1, 0, 100), 3).indices.shape).toEqual([1, 3]);
    expect(gpuMemory().fallbacks).toEqual({ topk: 1 });
  });

  it('frees what tidy() created, except its result and kept tensors', () => {
    const before = gpuMemory().liveBuffers;
    let kept: Tensor | undefined;
    const result = tidy(() => {
      const [a] = both([1, 2, 3], [3]);
      kept = keep(a.mul(2));
      return a.exp().add(a);
    });
    expect(gpuMemory().liveBuffers).toBe(before + 2);
    expect(Array.from(kept!.data())).toEqual([2, 4, 6]);
    result.dispose();
    kept!.dispose();
    expect(gpuMemory().liveBuffers).toBe(before);
    expect(() => result.data()).toThrow(/freed/);
  });
});
