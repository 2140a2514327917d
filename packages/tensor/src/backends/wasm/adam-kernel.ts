import type { AdamScalars } from '../../backend.ts';
import { sizeOf } from '../../shape.ts';
import { adamUpdate as adamReference } from '../js/adam.ts';
import { kernelModule } from './kernel-cache.ts';
import { addressOf, asJsView, type WasmView } from './views.ts';
import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/** Byte lanes that move a v128's upper two floats into its lower half. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Byte lanes that join the lower halves of two v128s. */
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/**
 * Leaves f32x4 round(a + b·c) on the stack for f32x4 locals a and c and an f64x2 local b (a float32
 * widened): the product of two floats is exact in float64, so this is the js reference's
 * f32(a + b * c) bit for bit, where a float32 multiply and add would round twice.
 */
function exactMulAdd(f: FunctionBuilder, a: number, b: number, c: number, low: number, high: number): void {
  const half = (x: number, upper: boolean) => {
    f.get(x);
    if (upper) f.get(x).shuffle(HIGH_HALF);
    f.simd(Simd.f64x2PromoteLowF32x4);
  };
  for (const [upper, out] of [[false, low], [true, high]] as const) {
    half(a, upper);
    f.get(b);
    half(c, upper);
    f.simd(Simd.f64x2Mul).simd(Simd.f64x2Add).simd(Simd.f32x4DemoteF64x2Zero).set(out);
  }
  f.get(low).get(high).shuffle(JOIN_LOW);
}

/**
 * adam(p, g, m, v, vHat, bytes, β1, β2, 1 − β1, 1 − β2, stepSize, bc2Sqrt, eps, wd, decay) over
 * `bytes` (a multiple of 16) of each array, four floats a step, in the js reference's order of
 * float32 operations. One module per weight-decay mode and amsgrad flag.
 */
function buildAdam(decayMode: AdamScalars['decayMode'], amsgrad: boolean) {
  return kernelModule(`adam:${decayMode}:${amsgrad}`, (mod) => {
    const { i32, f32, v128 } = ValType;
    const f = mod.function('adam', [i32, i32, i32, i32, i32, i32, f32, f32, f32, f32, f32, f32, f32, f32, f32]);
    const [p, g, m, v, vh, bytes] = [0, 1, 2, 3, 4, 5];
    const splat = (param: number): number => {
      const local = f.local(v128);
      f.get(param).simd(Simd.f32x4Splat).set(local);
      return local;
    };
    const wide = (param: number): number => {
      const local = f.local(v128);
      f.get(param).op(Op.f64PromoteF32).simd(Simd.f64x2Splat).set(local);
      return local;
    };
    const [beta1, beta2] = [splat(6), splat(7)];
    const oneMinusBeta1 = wide(8);
    const [oneMinusBeta2, stepSize, bc2Sqrt, eps] = [splat(9), splat(10), splat(11), splat(12)];
    const weightDecay = wide(13);
    const decay = splat(14);
    const i = f.local(i32);
    const [pv, gv, mv, vv, hat, low, high] = Array.from({ length: 7 }, () => f.local(v128)) as [number, number, number, number, number, number, number];
    const at = (base: number) => f.get(base).get(i).op(Op.i32Add);
    const mulAdd = (a: number, b: number, c: number) => exactMulAdd(f, a, b, c, low, high);
    f.forRange(i, () => f.i32(0), () => f.get(bytes), 16, () => {
      at(p).v128Load().set(pv);
      at(g).v128Load().set(gv);
      if (decayMode === 'decoupled') f.get(pv).get(decay).simd(Simd.f32x4Mul).set(pv);
      if (decayMode === 'l2') {
        mulAdd(gv, weightDecay, pv);
        f.set(gv);
      }
      at(m).v128Load().get(beta1).simd(Simd.f32x4Mul).set(mv);
      mulAdd(mv, oneMinusBeta1, gv);
      f.set(mv);
      at(v).v128Load().get(beta2).simd(Simd.f32x4Mul);
      f.get(oneMinusBeta2).get(gv).simd(Simd.f32x4Mul).get(gv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(vv);
      at(m).get(mv).v128Store();
      at(v).get(vv).v128Store();
      if (amsgrad) {
        at(vh).v128Load().get(vv).simd(Simd.f32x4Max).set(hat);
        at(vh).get(hat).v128Store();
      }
      at(p);
      f.get(pv).get(stepSize).get(mv).simd(Simd.f32x4Mul);
      f.get(amsgrad ? hat : vv).simd(Simd.f32x4Sqrt).get(bc2Sqrt).simd(Simd.f32x4Div).get(eps).simd(Simd.f32x4Add);
      f.simd(Simd.f32x4Div).simd(Simd.f32x4Add).v128Store();
    });
  }).adam!;
}

/**
 * One Adam step in place on wasm memory: the SIMD kernel takes whole vectors of four, the js
 * reference the last size % 4 elements, so every element matches the js backend exactly.
 */
export function adamUpdate(param: WasmView, grad: WasmView, expAvg: WasmView, expAvgSq: WasmView, maxExpAvgSq: WasmView | null, s: AdamScalars): void {
  const n = sizeOf(param.shape);
  const whole = n & ~3;
  if (whole > 0) {
    const kernel = buildAdam(s.decayMode, maxExpAvgSq !== null);
    const addresses = [param, grad, expAvg, expAvgSq].map(addressOf);
    const vHat = maxExpAvgSq ? addressOf(maxExpAvgSq) : 0;
    kernel(...addresses, vHat, whole * 4, s.beta1, s.beta2, s.oneMinusBeta1, s.oneMinusBeta2, s.stepSize, s.bc2Sqrt, s.eps, s.weightDecay, s.decay);
  }
  if (whole < n) {
    const tail = (x: WasmView) => ({ ...asJsView(x), shape: [n - whole], strides: [1], offset: x.offset + whole });
    adamReference(tail(param), tail(grad), tail(expAvg), tail(expAvgSq), maxExpAvgSq ? tail(maxExpAvgSq) : null, s);
  }
}
