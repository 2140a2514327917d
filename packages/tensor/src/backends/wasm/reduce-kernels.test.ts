import { describe, expect, it } from 'vitest';
import type { ReduceKernelOp } from '../../backend.ts';
import { sizeOf } from '../../shape.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { LAYOUTS, mismatch, pair, readWasm, rng } from './test-views.ts';

const CASES: Array<[number[], number[]]> = [
  [[7], [0]],
  [[1000], [0]],
  [[5, 9], [1]],
  [[5, 9], [0]],
  [[5, 9], [0, 1]],
  [[37, 66], [0]],
  [[3, 4, 5], [0, 2]],
  [[3, 4, 5], [1]],
  [[2, 3, 4, 5], [1, 3]],
  [[4, 0, 3], [1]],
  [[4, 0, 3], [0]],
  [[6, 7], []],
  [[], []],
];

describe('wasm reductions agree with the js reference', () => {
  for (const op of ['sum', 'max', 'min'] as ReduceKernelOp[]) {
    it(`${op} over axes, on every layout and dtype`, () => {
      const random = rng(op.length);
      for (const dtype of ['float32', 'int32'] as const)
        for (const [shape, axes] of CASES)
          for (const layout of LAYOUTS) {
            const x = pair(random, shape, layout, dtype, op === 'sum' ? 'normal' : 'special');
            const expected = jsBackend.kernels[op](x.js, axes);
            const outShape = shape.filter((_, d) => !axes.includes(d));
            const actual = readWasm(wasmBackend.kernels[op](x.wasm, axes), dtype, sizeOf(outShape));
            expect(mismatch(actual, expected, 1e-6, 1e-6), `${op} ${dtype} ${JSON.stringify(shape)} ${JSON.stringify(axes)} ${layout}`).toBeNull();
          }
    });
  }
});

describe('wasm row kernels agree with the js reference', () => {
  const SHAPES = [[1], [3], [4, 7], [2, 3, 16], [5, 33], [2, 130], [3, 0], [6, 1]];

  it('softmax and logSoftmax along every axis', () => {
    const random = rng(21);
    for (const op of ['softmax', 'logSoftmax'] as const)
      for (const shape of SHAPES)
        for (let axis = 0; axis < shape.length; axis++)
          for (const layout of LAYOUTS)
            // logSoftmax of huge equal logits: the reference computes x − (m + log Σ) and loses the
            // log term to rounding, where (x − m) − log Σ keeps it; so only softmax sees those.
            for (const kind of op === 'softmax' ? (['wide', 'special'] as const) : (['wide'] as const)) {
              const x = pair(random, shape, layout, 'float32', kind);
              const expected = jsBackend.kernels[op](x.js, axis);
              const actual = readWasm(wasmBackend.kernels[op](x.wasm, axis), 'float32', sizeOf(shape));
              expect(mismatch(actual, expected, 1e-5, 1e-6), `${op} ${JSON.stringify(shape)} axis ${axis} ${layout} ${kind}`).toBeNull();
            }
  });

  it('masked rows: all -Inf', () => {
    const x = pair(rng(1), [2, 5], 'contiguous');
    const minusInf = new Float32Array(x.js.handle.length).fill(Number.NEGATIVE_INFINITY);
    jsBackend.write(x.js.handle, minusInf);
    wasmBackend.write(x.wasm.handle, minusInf);
    for (const op of ['softmax', 'logSoftmax'] as const) {
      expect(mismatch(readWasm(wasmBackend.kernels[op](x.wasm, 1), 'float32', 10), jsBackend.kernels[op](x.js, 1))).toBeNull();
    }
  });

  it('layerNorm and rmsNorm, with and without affine parameters', () => {
    const random = rng(22);
    for (const shape of SHAPES.filter((s) => sizeOf(s) > 0))
      for (const layout of LAYOUTS) {
        const d = shape[shape.length - 1]!;
        const x = pair(random, shape, layout, 'float32', 'wide');
        const w = pair(random, [d], layout === 'contiguous' ? 'contiguous' : 'stepped');
        const b = pair(random, [d], 'flipped');
        const tag = `${JSON.stringify(shape)} ${layout}`;
        for (const [wj, ww, bj, bw] of [
          [w.js, w.wasm, b.js, b.wasm],
          [null, null, null, null],
          [w.js, w.wasm, null, null],
        ] as const) {
          expect(mismatch(readWasm(wasmBackend.kernels.layerNorm(x.wasm, ww, bw, 1e-5), 'float32', sizeOf(shape)), jsBackend.kernels.layerNorm(x.js, wj, bj, 1e-5), 2e-5, 2e-5), tag).toBeNull();
          expect(mismatch(readWasm(wasmBackend.kernels.rmsNorm(x.wasm, ww, 1e-6), 'float32', sizeOf(shape)), jsBackend.kernels.rmsNorm(x.js, wj, 1e-6), 2e-5, 2e-5), tag).toBeNull();
        }
      }
  });

  it('crossEntropy with ignored rows', () => {
    const random = rng(23);
    for (const [n, c] of [[1, 1], [5, 3], [9, 17], [64, 512], [0, 4]] as const)
      for (const layout of ['contiguous', 'permuted', 'stepped'] as const) {
        const logits = pair(random, [n, c], layout, 'float32', 'wide');
        const targets = pair(random, [n], 'contiguous', 'int32');
        const t = Int32Array.from({ length: targets.js.handle.length }, (_, i) => (i % 4 === 3 ? -100 : Math.floor(random() * c)));
        jsBackend.write(targets.js.handle, t);
        wasmBackend.write(targets.wasm.handle, t);
        const expected = jsBackend.kernels.crossEntropy(logits.js, targets.js, -100);
        const actual = readWasm(wasmBackend.kernels.crossEntropy(logits.wasm, targets.wasm, -100), 'float32', n);
        expect(mismatch(actual, expected, 1e-5, 2e-6), `${n}x${c} ${layout}`).toBeNull();
      }
  });
});
