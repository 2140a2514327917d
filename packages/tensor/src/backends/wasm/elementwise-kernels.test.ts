import { describe, expect, it } from 'vitest';
import type { BinaryKernelOp, CompareKernelOp, UnaryKernelOp } from '../../backend.ts';
import { sizeOf } from '../../shape.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { LAYOUTS, mismatch, pair, readWasm, rng, type ValueKind } from './test-views.ts';

const SHAPES = [[], [1], [5], [7, 3], [3, 1, 9], [2, 3, 4, 5], [33], [4, 130], [2, 0, 3], [3, 2, 2, 3, 2]];

const UNARY: UnaryKernelOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'erf', 'gelu', 'geluTanh', 'abs', 'sign'];
const BINARY: BinaryKernelOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'];
const COMPARE: CompareKernelOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];

function valuesFor(op: UnaryKernelOp): ValueKind[] {
  return op === 'log' || op === 'sqrt' || op === 'rsqrt' ? ['positive', 'special'] : ['normal', 'wide', 'special'];
}

describe('wasm elementwise kernels agree with the js reference', () => {
  for (const op of UNARY) {
    it(`${op} on every layout`, () => {
      const random = rng(UNARY.indexOf(op) + 1);
      for (const shape of SHAPES)
        for (const layout of LAYOUTS)
          for (const kind of valuesFor(op)) {
            const { js, wasm } = pair(random, shape, layout, 'float32', kind);
            const expected = jsBackend.kernels[op](js);
            const actual = readWasm(wasmBackend.kernels[op](wasm), 'float32', sizeOf(shape));
            const bad = mismatch(actual, expected, 4e-6, 1e-6);
            expect(bad, `${op} ${JSON.stringify(shape)} ${layout} ${kind}`).toBeNull();
          }
    });
  }

  it('int32 unary kernels', () => {
    const random = rng(99);
    for (const op of ['neg', 'abs', 'sign', 'relu'] as const)
      for (const shape of SHAPES)
        for (const layout of LAYOUTS) {
          const { js, wasm } = pair(random, shape, layout, 'int32');
          const expected = jsBackend.kernels[op](js);
          expect(mismatch(readWasm(wasmBackend.kernels[op](wasm), 'int32', sizeOf(shape)), expected, 0, 0)).toBeNull();
        }
  });

  for (const op of [...BINARY, ...COMPARE]) {
    it(`${op} with broadcasting and strides`, () => {
      const random = rng(op.length * 31 + op.charCodeAt(0));
      for (const dtype of ['float32', 'int32'] as const)
        for (const shape of SHAPES)
          for (const la of LAYOUTS)
            for (const lb of ['contiguous', 'broadcast', 'mixed'] as const) {
              if (dtype === 'int32' && (op === 'div' || op === 'pow')) continue;
              const a = pair(random, shape, la, dtype, op === 'pow' ? 'positive' : 'special');
              const b = pair(random, shape, lb, dtype, 'normal');
              const expected = jsBackend.kernels[op](a.js, b.js);
              const outType = COMPARE.includes(op as CompareKernelOp) ? 'int32' : dtype;
              const actual = readWasm(wasmBackend.kernels[op](a.wasm, b.wasm), outType, sizeOf(shape));
              expect(mismatch(actual, expected, 4e-6, 1e-6), `${op} ${dtype} ${JSON.stringify(shape)} ${la}/${lb}`).toBeNull();
            }
    });
  }

  it('pow by a broadcast scalar exponent', () => {
    const random = rng(5);
    for (const e of [2, 3, -1, 1, 0.5, 1.7]) {
      const a = pair(random, [6, 7], 'mixed', 'float32', 'positive');
      const b = pair(random, [], 'contiguous');
      wasmBackend.write(b.wasm.handle, new Float32Array([e, e, e, e]));
      jsBackend.write(b.js.handle, new Float32Array([e, e, e, e]));
      const bs = { strides: [0, 0], shape: [6, 7], offset: b.js.offset };
      const expected = jsBackend.kernels.pow(a.js, { ...b.js, ...bs });
      const actual = readWasm(wasmBackend.kernels.pow(a.wasm, { ...b.wasm, ...bs }), 'float32', 42);
      expect(mismatch(actual, expected, 4e-6), `pow ${e}`).toBeNull();
    }
  });

  it('where, clamp, copy and assign', () => {
    const random = rng(7);
    for (const shape of SHAPES)
      for (const layout of LAYOUTS) {
        const c = pair(random, shape, layout, random() < 0.5 ? 'int32' : 'float32', 'special');
        const a = pair(random, shape, layout, 'float32', 'special');
        const b = pair(random, shape, 'mixed');
        const size = sizeOf(shape);
        const tag = `${JSON.stringify(shape)} ${layout}`;
        expect(mismatch(readWasm(wasmBackend.kernels.where(c.wasm, a.wasm, b.wasm), 'float32', size), jsBackend.kernels.where(c.js, a.js, b.js), 0, 0), tag).toBeNull();
        expect(mismatch(readWasm(wasmBackend.kernels.clamp(a.wasm, -1.5, 2), 'float32', size), jsBackend.kernels.clamp(a.js, -1.5, 2), 0, 0), tag).toBeNull();
        for (const dtype of ['float32', 'int32'] as const) {
          const expected = jsBackend.kernels.copy(b.js, dtype);
          expect(mismatch(readWasm(wasmBackend.kernels.copy(b.wasm, dtype), dtype, size), expected, 0, 0), tag).toBeNull();
        }
        // assign into the strided region of `a` (unless it is broadcast, which assign never receives)
        if (a.js.strides.some((s, d) => s === 0 && shape[d]! > 1)) continue;
        jsBackend.kernels.assign(a.js, b.js);
        wasmBackend.kernels.assign(a.wasm, b.wasm);
        const n = (a.js.handle as Float32Array).length;
        expect(mismatch(readWasm(a.wasm.handle, 'float32', n), a.js.handle, 0, 0), tag).toBeNull();
      }
  });
});
