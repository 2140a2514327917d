import { describe, expect, it } from 'vitest';
import type { AdamScalars } from '../../backend.ts';
import { adamScalars } from '../../optim/adam.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { readWasm, rng } from './test-views.ts';

const MODES: ReadonlyArray<AdamScalars['decayMode']> = ['none', 'l2', 'decoupled'];
const SIZES = [1, 3, 4, 5, 16, 37, 1027];
const GUARD = 2;

const HYPER = { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };

/** Gradients over many magnitudes (zeros, subnormal squares, large values), where rounding order shows. */
function gradients(random: () => number, n: number): Float32Array {
  const scales = [0, 1e-30, 1e-12, 1e-4, 1, 3, 1e4, 1e15];
  return Float32Array.from({ length: n }, () => (random() - 0.5) * scales[Math.floor(random() * scales.length)]!);
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('wasm adamUpdate', () => {
  for (const mode of MODES)
    for (const amsgrad of [false, true]) {
      it(`matches the js kernel bit for bit, in place at any offset (${mode}${amsgrad ? ', amsgrad' : ''})`, () => {
        const random = rng(MODES.indexOf(mode) * 2 + Number(amsgrad) + 1);
        for (const n of SIZES)
          for (const offset of [0, 1, 3]) {
            const total = offset + n + GUARD;
            const initial = Float32Array.from({ length: total }, () => (random() - 0.5) * 4);
            const js = [initial, new Float32Array(total), new Float32Array(total), new Float32Array(total)].map((a) => a.slice());
            const wasm = js.map((a) => {
              const handle = wasmBackend.allocate('float32', total);
              wasmBackend.write(handle, a);
              return handle;
            });
            const view = <H>(handle: H) => ({ handle, dtype: 'float32' as const, shape: [n], strides: [1], offset });
            for (let t = 1; t <= 3; t++) {
              const grad = new Float32Array(total);
              grad.set(gradients(random, n), offset);
              const wasmGrad = wasmBackend.allocate('float32', total);
              wasmBackend.write(wasmGrad, grad);
              const s = adamScalars(HYPER, t, mode);
              jsBackend.kernels.adamUpdate(view(js[0]!), view(grad), view(js[1]!), view(js[2]!), amsgrad ? view(js[3]!) : null, s);
              wasmBackend.kernels.adamUpdate(view(wasm[0]!), view(wasmGrad), view(wasm[1]!), view(wasm[2]!), amsgrad ? view(wasm[3]!) : null, s);
              js.forEach((want, k) => {
                const got = readWasm(wasm[k]!, 'float32', total) as Float32Array;
                expect(bits(got), `n ${n} offset ${offset} step ${t} buffer ${k}`).toEqual(bits(want));
              });
            }
            // The elements around the view are untouched, and the step moved the parameter.
            expect(bits(js[0]!.subarray(0, offset))).toEqual(bits(initial.subarray(0, offset)));
            expect(bits(js[0]!.subarray(offset + n))).toEqual(bits(initial.subarray(offset + n)));
            expect(bits(js[0]!.subarray(offset, offset + n))).not.toEqual(bits(initial.subarray(offset, offset + n)));
            if (!amsgrad) expect(js[3]!.every((x) => x === 0)).toBe(true);
          }
      });
    }
});
