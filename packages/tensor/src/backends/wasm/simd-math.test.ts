import { describe, expect, it } from 'vitest';
import { unaryFunctions } from '../js/elementwise.ts';
import * as math from './simd-math.ts';
import { type FunctionBuilder, ModuleBuilder, Op, ValType } from './wasm-emitter.ts';

/** Runs `emit` (one of simd-math's functions) over `xs`, four lanes at a time, in its own module. */
function mapWith(emit: (f: FunctionBuilder, x: number) => void, xs: readonly number[] | Float32Array): Float32Array {
  const n = Math.ceil(xs.length / 4) * 4;
  const pages = Math.ceil((8 * n + 16) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: pages, maxPages: pages, shared: false });
  const f = m.function('run', [ValType.i32]);
  const i = f.local(ValType.i32);
  const v = f.local(ValType.v128);
  const out = f.local(ValType.v128);
  f.forRange(i, () => f.i32(0), () => f.get(0), 16, () => {
    f.get(i).v128Load().set(v);
    emit(f, v);
    f.set(out);
    f.get(i).get(0).op(Op.i32Add).get(out).v128Store();
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.bytes() as Uint8Array<ArrayBuffer>), { env: { memory } });
  const f32 = new Float32Array(memory.buffer);
  f32.set(xs);
  (instance.exports.run as (bytes: number) => void)(4 * n);
  return f32.slice(n, n + xs.length);
}

/** `count` float32 points evenly spread over [lo, hi]. */
function sweep(lo: number, hi: number, count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, k) => lo + ((hi - lo) * k) / (count - 1));
}

/** Largest |got − want| / max(|want|, floor) over the points. */
function maxRelativeError(xs: Float32Array, got: Float32Array, want: (x: number) => number, floor = 0): number {
  let worst = 0;
  for (let k = 0; k < xs.length; k++) {
    const w = want(xs[k]!);
    worst = Math.max(worst, Math.abs(got[k]! - w) / Math.max(Math.abs(w), floor));
  }
  return worst;
}

describe('simd-math', () => {
  it('exp is within 3e-7 relative of Math.exp where its result is normal', () => {
    const xs = sweep(-87.3, 88.72, 1 << 20);
    expect(maxRelativeError(xs, mapWith(math.exp, xs), Math.exp)).toBeLessThan(3e-7);
  });

  it('exp rounds subnormal results to within one subnormal step', () => {
    const xs = sweep(-104, -87, 1 << 16);
    const got = mapWith(math.exp, xs);
    let worst = 0;
    for (let k = 0; k < xs.length; k++) worst = Math.max(worst, Math.abs(got[k]! - Math.exp(xs[k]!)) / (2 ** -149 + 3e-7 * Math.exp(xs[k]!)));
    expect(worst).toBeLessThanOrEqual(1);
    // e^-103.5 rounds to the least subnormal, 2^-149; e^-104.5 is under half of it and rounds to 0.
    expect(mapWith(math.exp, [-103.5, -104.5, -200, -1e30])).toEqual(Float32Array.from([2 ** -149, 0, 0, 0]));
  });

  it('exp keeps special values and the overflow edge', () => {
    const ln2Max = Math.log(3.4028234663852886e38);
    const xs = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN, 0, -0, 88.72, Math.fround(ln2Max) - 1e-5, 88.723, 89, 1000, -1000];
    const got = mapWith(math.exp, xs);
    expect(got[0]).toBe(0);
    expect(got[1]).toBe(Number.POSITIVE_INFINITY);
    expect(got[2]).toBeNaN();
    expect(got[3]).toBe(1);
    expect(got[4]).toBe(1);
    for (const k of [5, 6]) {
      expect(Number.isFinite(got[k]!), `exp(${xs[k]})`).toBe(true);
      expect(Math.abs(got[k]! / Math.exp(Math.fround(xs[k]!)) - 1)).toBeLessThan(3e-7);
    }
    expect([...got.slice(7, 10)]).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(got[10]).toBe(0);
  });

  it('exp propagates NaN in every lane position, beside finite lanes', () => {
    for (let lane = 0; lane < 4; lane++) {
      const xs = [0.5, -3, 7, 1];
      xs[lane] = Number.NaN;
      const got = mapWith(math.exp, xs);
      for (let k = 0; k < 4; k++) {
        if (k === lane) expect(got[k]).toBeNaN();
        else expect(Math.abs(got[k]! / Math.exp(xs[k]!) - 1)).toBeLessThan(3e-7);
      }
    }
  });

  it('gelu, geluTanh, sigmoid and tanh follow the js reference over [-12, 12], and its special values', () => {
    const xs = Float32Array.from([...sweep(-12, 12, 1 << 16), Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN, -0, 0, 1e-30, -1e-30]);
    const emitters = { gelu: math.gelu, geluTanh: math.geluTanh, sigmoid: math.sigmoid, tanh: math.tanh };
    for (const [op, emit] of Object.entries(emitters) as Array<[keyof typeof emitters, typeof math.exp]>) {
      const got = mapWith(emit, xs);
      let bad: string | null = null;
      for (let k = 0; k < xs.length && bad === null; k++) {
        const [x, want] = [xs[k]!, unaryFunctions[op](xs[k]!)];
        // Exact where the input or result is not finite, and at ±0 (the sign included).
        const ok = !Number.isFinite(want) || !Number.isFinite(x) || x === 0 ? Object.is(got[k], Math.fround(want))
          // The rounding of x²/2 (or the tanh form's cousin) in float32 grows the relative error like x².
          // In the negative tail the js backend's 1 + erf and 1 + tanh cancel in float64 (to about
          // 1e-16 absolute, then to 0), well before these forms lose relative accuracy.
          : Math.abs(got[k]! - want) <= 5e-7 * (1 + x * x) * Math.abs(want) + 1e-14;
        if (!ok) bad = `${op}(${x}) = ${got[k]}, want ${want}`;
      }
      expect(bad).toBeNull();
    }
  });
});
