import { type FunctionBuilder, Simd, ValType } from './wasm-emitter.ts';

/**
 * Vectorised float32 elementary functions, emitted inline. Each reads a v128 local holding four
 * lanes and leaves the four results on the stack. Accuracy is a few ulp over the whole range,
 * with IEEE special values (NaN, ±Inf, ±0) handled as Math.* does. Constants are read from locals
 * set once at function entry (`splat`), so a kernel's loop does not rebuild them per iteration.
 */

/** Pushes four lanes of the f32 `value`, from a local set once at function entry (see `hoisted`). */
export function splat(f: FunctionBuilder, value: number): FunctionBuilder {
  return f.hoisted(() => f.f32x4(value));
}

/** Pushes four lanes of the i32 `value`, hoisted as `splat`. */
export function splatI32(f: FunctionBuilder, value: number): FunctionBuilder {
  return f.hoisted(() => f.i32x4(value));
}

/**
 * Leaves c[0] + c[1]·x + c[2]·x² + … on the stack, by Estrin's scheme: neighbouring terms pair
 * up as c[i] + c[i+1]·x, then pairs of pairs with x², and so on. Same operation count as Horner,
 * but a dependency chain of log2(n) multiply-adds instead of n, which matters in long kernels.
 */
export function horner(f: FunctionBuilder, x: number, coefficients: readonly number[]): void {
  type Term = { constant: number } | { local: number };
  const push = (t: Term) => ('constant' in t ? splat(f, t.constant) : f.get(t.local));
  let terms: Term[] = coefficients.map((c) => ({ constant: c }));
  let power = x;
  while (terms.length > 1) {
    const next: Term[] = [];
    for (let i = 0; i + 1 < terms.length; i += 2) {
      const local = f.local(ValType.v128);
      push(terms[i + 1]!);
      f.get(power).simd(Simd.f32x4Mul);
      push(terms[i]!);
      f.simd(Simd.f32x4Add).set(local);
      next.push({ local });
    }
    if (terms.length % 2 === 1) next.push(terms[terms.length - 1]!);
    terms = next;
    if (terms.length > 1) {
      const squared = f.local(ValType.v128);
      f.get(power).get(power).simd(Simd.f32x4Mul).set(squared);
      power = squared;
    }
  }
  push(terms[0]!);
}

const LOG2E = Math.LOG2E;
// ln 2 split so that n·LN2_HI is exact for |n| < 2^15 (Cody and Waite).
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444005469057e-4;
// e^r on |r| <= ln2/2 as 1 + r + r²·(…), the rest fitted for least maximum relative error (1.1e-7,
// about one float32 ulp; a degree more costs a fifth of exp's speed for little gain once rounded).
// All doubled: exp builds 2^(n−1), so that 2^127 is the largest factor and n = 128 stays finite.
const EXP_FIT = [1, 1, 0.49999231782968245, 0.1666711446531245, 0.04189011430124104, 0.008312525247890994].map((c) => 2 * c);

// 1.5·2^23: adding it rounds a float below 2^22 to an integer held in the low mantissa bits.
// Adding 126 more leaves n + 126 there, the biased exponent of 2^(n−1).
const ROUND_MAGIC = 12582912 + 126;
const ROUND_MAGIC_BITS = 0x4b400000;

/**
 * e^x: x = n·ln2 + r with |r| <= ln2/2, a degree-5 polynomial for 2e^r, and 2^(n−1) as two
 * factors built in the exponent bits: 2^max(n−1, −126), which is normal, then the rest (2^0 down
 * to 2^−25), so that results in the subnormal range round once. Clamping x to [-104, 89] first
 * keeps n in [−150, 128]; beyond it the result is 0 or Inf anyway. Within 3e-7 of e^x relative
 * wherever the result is normal. Constants come from hoisted locals (`splat`).
 */
export function exp(f: FunctionBuilder, x: number): void {
  const xc = f.local(ValType.v128);
  const t = f.local(ValType.v128);
  const n = f.local(ValType.v128);
  const r = f.local(ValType.v128);
  const e = f.local(ValType.v128);
  // pmax/pmin are single instructions and keep NaN (x < lo ? lo : x, hi < x ? hi : x).
  f.get(x);
  splat(f, -104).simd(Simd.f32x4Pmax);
  splat(f, 89).simd(Simd.f32x4Pmin).set(xc);
  f.get(xc);
  splat(f, LOG2E).simd(Simd.f32x4Mul);
  splat(f, ROUND_MAGIC).simd(Simd.f32x4Add).tee(t);
  splat(f, ROUND_MAGIC).simd(Simd.f32x4Sub).set(n);
  f.get(xc).get(n);
  splat(f, LN2_HI).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub);
  f.get(n);
  splat(f, LN2_LO).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub).set(r);
  // t's bits are ROUND_MAGIC_BITS + n + 126; shifting left by 23 drops everything but n + 126.
  f.get(t);
  splatI32(f, ROUND_MAGIC_BITS + 1).simd(Simd.i32x4MaxS).set(e);
  horner(f, r, EXP_FIT);
  f.get(e).i32(23).simd(Simd.i32x4Shl).simd(Simd.f32x4Mul);
  f.get(t).get(e).simd(Simd.i32x4Sub).i32(23).simd(Simd.i32x4Shl);
  splatI32(f, 127 << 23).simd(Simd.i32x4Add).simd(Simd.f32x4Mul);
}

/** Stores exp(x) in a fresh local and returns it. */
export function expLocal(f: FunctionBuilder, x: number): number {
  const out = f.local(ValType.v128);
  exp(f, x);
  f.set(out);
  return out;
}

const SQRT2 = Math.SQRT2;

/** ln x: x = m·2^e with m in [√½, √2), then ln m = 2·atanh(s) with s = (m−1)/(m+1), as a series in s². */
export function log(f: FunctionBuilder, x: number): void {
  const xs = f.local(ValType.v128);
  const tiny = f.local(ValType.v128);
  const bits = f.local(ValType.v128);
  const e = f.local(ValType.v128);
  const m = f.local(ValType.v128);
  const big = f.local(ValType.v128);
  const s = f.local(ValType.v128);
  const z = f.local(ValType.v128);
  const ef = f.local(ValType.v128);
  // Subnormals: scale by 2^23 first and take 23 off the exponent.
  f.get(x).f32x4(1.1754943508222875e-38).simd(Simd.f32x4Lt).set(tiny);
  f.get(x).f32x4(8388608).simd(Simd.f32x4Mul).get(x).get(tiny).simd(Simd.v128Bitselect).tee(xs).set(bits);
  f.get(bits).i32(23).simd(Simd.i32x4ShrU).i32x4(0xff).simd(Simd.v128And).i32x4(127).simd(Simd.i32x4Sub);
  f.get(tiny).i32x4(-23).simd(Simd.v128And).simd(Simd.i32x4Add).set(e);
  f.get(bits).i32x4(0x7fffff).simd(Simd.v128And).i32x4(0x3f800000).simd(Simd.v128Or).set(m);
  f.get(m).f32x4(SQRT2).simd(Simd.f32x4Gt).set(big);
  f.get(m).f32x4(0.5).simd(Simd.f32x4Mul).get(m).get(big).simd(Simd.v128Bitselect).set(m);
  // big lanes are -1 as integers: subtracting adds one to the exponent.
  f.get(e).get(big).simd(Simd.i32x4Sub).simd(Simd.f32x4ConvertI32x4S).set(ef);
  f.get(m).f32x4(1).simd(Simd.f32x4Sub).get(m).f32x4(1).simd(Simd.f32x4Add).simd(Simd.f32x4Div).set(s);
  f.get(s).get(s).simd(Simd.f32x4Mul).set(z);
  // ln m = 2s + 2s·z·(1/3 + z/5 + z²/7 + …)
  horner(f, z, [1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11]);
  f.get(z).simd(Simd.f32x4Mul).get(s).f32x4(2).simd(Simd.f32x4Mul).tee(s).simd(Simd.f32x4Mul);
  f.get(ef).f32x4(LN2_LO).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).get(s).simd(Simd.f32x4Add);
  f.get(ef).f32x4(LN2_HI).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(z);
  // Special values: 0 → -Inf, +Inf → +Inf, negative or NaN → NaN.
  f.f32x4(Number.NEGATIVE_INFINITY).get(z).get(x).f32x4(0).simd(Simd.f32x4Eq).simd(Simd.v128Bitselect).set(z);
  f.get(x).get(z).get(x).f32x4(Number.POSITIVE_INFINITY).simd(Simd.f32x4Eq).simd(Simd.v128Bitselect);
  f.set(z);
  f.get(z).f32x4(Number.NaN).get(x).f32x4(0).simd(Simd.f32x4Ge).simd(Simd.v128Bitselect);
}

/** Leaves |x| with the sign bit of `signOf` on the stack, given |x| on the stack. */
function copySign(f: FunctionBuilder, signOf: number): void {
  f.get(signOf).i32x4(-0x80000000).simd(Simd.v128And).simd(Simd.v128Or);
}

// tanh x = x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835 − 1382x¹¹/155925 + 21844x¹³/6081075 (|x| < 0.4).
const TANH_SERIES = [1, -1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925, 21844 / 6081075];

/** tanh: an odd series near 0, else 1 − 2/(e^{2|x|} + 1) with the sign of x. */
export function tanh(f: FunctionBuilder, x: number): void {
  const a = f.local(ValType.v128);
  const z = f.local(ValType.v128);
  const t = f.local(ValType.v128);
  f.get(x).simd(Simd.f32x4Abs).set(a);
  f.get(a).get(a).simd(Simd.f32x4Add).set(t);
  const e = expLocal(f, t);
  splat(f, 1);
  splat(f, 2).get(e);
  splat(f, 1).simd(Simd.f32x4Add).simd(Simd.f32x4Div).simd(Simd.f32x4Sub);
  copySign(f, x);
  f.set(t);
  f.get(x).get(x).simd(Simd.f32x4Mul).set(z);
  horner(f, z, TANH_SERIES);
  f.get(x).simd(Simd.f32x4Mul);
  splat(f.get(t).get(a), 0.4).simd(Simd.f32x4Lt).simd(Simd.v128Bitselect);
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
// erf x = 2/√π · Σ (−1)^n x^{2n+1} / (n!(2n+1)), used for |x| < 0.5.
const ERF_SERIES = [1, -1 / 3, 1 / 10, -1 / 42, 1 / 216, -1 / 1320, 1 / 9360].map((c) => c * TWO_OVER_SQRT_PI);
// erfc z ≈ t·exp(−z² + P(t)), t = 1/(1 + z/2): the Chebyshev fit of Numerical Recipes (erfcc), as the js backend.
const ERFC_FIT = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];

/** Leaves scale·erfc(a) for a >= 0 on the stack. */
function erfcPositive(f: FunctionBuilder, a: number, scale = 1): void {
  const t = f.local(ValType.v128);
  const arg = f.local(ValType.v128);
  splat(f, 1);
  splat(f, 1).get(a);
  splat(f, 0.5).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).simd(Simd.f32x4Div).set(t);
  horner(f, t, ERFC_FIT);
  f.get(a).get(a).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub).set(arg);
  const e = expLocal(f, arg);
  f.get(t);
  if (scale !== 1) splat(f, scale).simd(Simd.f32x4Mul);
  f.get(e).simd(Simd.f32x4Mul);
}

/** Leaves the series erf(x) (accurate for |x| < 0.5) on the stack. */
function erfSeries(f: FunctionBuilder, x: number): void {
  const z = f.local(ValType.v128);
  f.get(x).get(x).simd(Simd.f32x4Mul).set(z);
  horner(f, z, ERF_SERIES);
  f.get(x).simd(Simd.f32x4Mul);
}

export function erf(f: FunctionBuilder, x: number): void {
  const a = f.local(ValType.v128);
  const r = f.local(ValType.v128);
  f.get(x).simd(Simd.f32x4Abs).set(a);
  splat(f, 1);
  erfcPositive(f, a);
  f.simd(Simd.f32x4Sub);
  copySign(f, x);
  f.set(r);
  erfSeries(f, x);
  splat(f.get(r).get(a), 0.5).simd(Simd.f32x4Lt).simd(Simd.v128Bitselect);
}

/**
 * gelu x = x·Φ(x), with Φ(x) = erfc(−x/√2)/2 taken from h = erfc(|x|/√2)/2 as 1 − h for x >= 0
 * and h itself for x < 0, which keeps full relative accuracy in the negative tail. Φ stays near
 * 1/2 around 0, so unlike erf no series is needed there.
 */
export function gelu(f: FunctionBuilder, x: number): void {
  const a = f.local(ValType.v128);
  const h = f.local(ValType.v128);
  f.get(x).simd(Simd.f32x4Abs);
  splat(f, Math.SQRT1_2).simd(Simd.f32x4Mul).set(a);
  erfcPositive(f, a, 0.5);
  f.set(h);
  splat(f, 1).get(h).simd(Simd.f32x4Sub).get(h).get(x);
  splat(f, 0).simd(Simd.f32x4Ge).simd(Simd.v128Bitselect);
  f.get(x).simd(Simd.f32x4Mul);
}

/** 1 / (1 + e^{−x}). */
export function sigmoid(f: FunctionBuilder, x: number): void {
  const nx = f.local(ValType.v128);
  f.get(x).simd(Simd.f32x4Neg).set(nx);
  const e = expLocal(f, nx);
  splat(f, 1);
  splat(f, 1).get(e).simd(Simd.f32x4Add).simd(Simd.f32x4Div);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * The tanh form of gelu, 0.5x(1 + tanh u) with u = √(2/π)(x + 0.044715x³), as x / (1 + e^{−2u})
 * since 1 + tanh u = 2/(1 + e^{−2u}); −2u is computed as x·(K1 + K2·x²).
 */
export function geluTanh(f: FunctionBuilder, x: number): void {
  const w = f.local(ValType.v128);
  f.get(x).get(x).simd(Simd.f32x4Mul);
  splat(f, -2 * SQRT_2_OVER_PI * 0.044715).simd(Simd.f32x4Mul);
  splat(f, -2 * SQRT_2_OVER_PI).simd(Simd.f32x4Add).get(x).simd(Simd.f32x4Mul).set(w);
  const e = expLocal(f, w);
  f.get(x).get(e);
  splat(f, 1).simd(Simd.f32x4Add).simd(Simd.f32x4Div);
}
