import { type FunctionBuilder, Simd, ValType } from './wasm-emitter.ts';

/**
 * x^y for four float32 lanes, as Math.pow rounded to float32. 2^(y·log2|x|) loses float32
 * precision in single precision (an error in log2|x| grows by |y·log2|x||, up to ~150), so the
 * logarithm and exponential run in float64, two lanes at a time, and round once at the end.
 * Signs and special values are then set in float32 as Math.pow has them: an odd integer power
 * keeps the sign of x, a negative finite x with a non-integer y gives NaN, y = 0 gives 1.
 */

// 1.5·2^52: adding it rounds a float64 to an integer held in the low mantissa bits.
const ROUND_MAGIC = 6755399441055744;
// ln m = 2s·(1 + z/3 + z²/5 + …), z = s², s = (m−1)/(m+1) with |s| < 0.172: 1e-13 relative.
const ATANH_SERIES = [1, 1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11, 1 / 13, 1 / 15];
// e^r for |r| <= ln2/2: the Taylor series to r^11, 1e-14 relative.
const EXP_TAYLOR = Array.from({ length: 12 }, (_, k) => 1 / factorial(k));
// Past these, 2^w is 0 or Inf in float32 already; clamping keeps 2^n one exponent-built factor.
const [W_MIN, W_MAX] = [-175, 145];

function factorial(k: number): number {
  return k <= 1 ? 1 : k * factorial(k - 1);
}

/** Moves lanes 2, 3 of a v128 on the stack into lanes 0, 1. */
function highHalf(f: FunctionBuilder): void {
  const v = f.local(ValType.v128);
  f.set(v).get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
}

function splat64(f: FunctionBuilder, value: number): void {
  f.f64(value).simd(Simd.f64x2Splat);
}

/** c[0] + c[1]·x + … by Horner's rule in float64x2. */
function poly64(f: FunctionBuilder, x: number, coefficients: readonly number[]): void {
  splat64(f, coefficients[coefficients.length - 1]!);
  for (let k = coefficients.length - 2; k >= 0; k--) {
    f.get(x).simd(Simd.f64x2Mul);
    splat64(f, coefficients[k]!);
    f.simd(Simd.f64x2Add);
  }
}

/**
 * Leaves 2^(y·(e + log2 m)) for two float64 lanes on the stack, given float64x2 locals m (the
 * mantissa of |x| in [√½, √2)), e (its exponent) and y. Working in base 2 keeps powers of two
 * exact: w = y·log2|x| splits as n + f with f in [−½, ½], and 2^f = e^(f·ln2) by a series.
 */
function powHalf(f: FunctionBuilder, m: number, e: number, y: number): void {
  const v128 = () => f.local(ValType.v128);
  const [s, z, w, n, r, ni] = [v128(), v128(), v128(), v128(), v128(), v128()];
  f.get(m);
  splat64(f, 1);
  f.simd(Simd.f64x2Sub);
  f.get(m);
  splat64(f, 1);
  f.simd(Simd.f64x2Add).simd(Simd.f64x2Div).set(s);
  f.get(s).get(s).simd(Simd.f64x2Mul).set(z);
  // w = y · (e + ln m · log2 e), clamped (pmax and pmin keep NaN).
  poly64(f, z, ATANH_SERIES);
  f.get(s).simd(Simd.f64x2Mul);
  splat64(f, 2 * Math.LOG2E);
  f.simd(Simd.f64x2Mul).get(e).simd(Simd.f64x2Add).get(y).simd(Simd.f64x2Mul);
  splat64(f, W_MIN);
  f.simd(Simd.f64x2Pmax);
  splat64(f, W_MAX);
  f.simd(Simd.f64x2Pmin).set(w);
  // n = round(w) as a float and, from the bits of w + ROUND_MAGIC, as an integer.
  f.get(w);
  splat64(f, ROUND_MAGIC);
  f.simd(Simd.f64x2Add).tee(n);
  splat64(f, ROUND_MAGIC);
  f.simd(Simd.i64x2Sub).set(ni);
  f.get(n);
  splat64(f, ROUND_MAGIC);
  f.simd(Simd.f64x2Sub).set(n);
  f.get(w).get(n).simd(Simd.f64x2Sub);
  splat64(f, Math.LN2);
  f.simd(Simd.f64x2Mul).set(r);
  poly64(f, r, EXP_TAYLOR);
  // 2^n from its exponent bits.
  f.get(ni).i32x4(1023, 0, 1023, 0).simd(Simd.i64x2Add).i32(52).simd(Simd.i64x2Shl).simd(Simd.f64x2Mul);
}

/** Leaves x^y for float32x4 locals x and y on the stack. */
export function pow(f: FunctionBuilder, x: number, y: number): void {
  const v128 = () => f.local(ValType.v128);
  const [ax, tiny, bits, e, m, big] = [v128(), v128(), v128(), v128(), v128(), v128()];
  const [lo, res, isInt, half, mask] = [v128(), v128(), v128(), v128(), v128()];
  const [m64, e64, y64] = [v128(), v128(), v128()];
  // |x| = m·2^e with m in [√½, √2), subnormals scaled by 2^23 first (as in simd-math's log).
  f.get(x).simd(Simd.f32x4Abs).set(ax);
  f.get(ax).f32x4(1.1754943508222875e-38).simd(Simd.f32x4Lt).set(tiny);
  f.get(ax).f32x4(8388608).simd(Simd.f32x4Mul).get(ax).get(tiny).simd(Simd.v128Bitselect).set(bits);
  f.get(bits).i32(23).simd(Simd.i32x4ShrU).i32x4(0xff).simd(Simd.v128And).i32x4(127).simd(Simd.i32x4Sub);
  f.get(tiny).i32x4(-23).simd(Simd.v128And).simd(Simd.i32x4Add).set(e);
  f.get(bits).i32x4(0x7fffff).simd(Simd.v128And).i32x4(0x3f800000).simd(Simd.v128Or).set(m);
  f.get(m).f32x4(Math.SQRT2).simd(Simd.f32x4Gt).set(big);
  f.get(m).f32x4(0.5).simd(Simd.f32x4Mul).get(m).get(big).simd(Simd.v128Bitselect).set(m);
  // big lanes are -1 as integers: subtracting adds one to the exponent.
  f.get(e).get(big).simd(Simd.i32x4Sub).set(e);
  for (const high of [false, true]) {
    const load = (v: number) => {
      f.get(v);
      if (high) highHalf(f);
    };
    load(m);
    f.simd(Simd.f64x2PromoteLowF32x4).set(m64);
    load(e);
    f.simd(Simd.f64x2ConvertLowI32x4S).set(e64);
    load(y);
    f.simd(Simd.f64x2PromoteLowF32x4).set(y64);
    powHalf(f, m64, e64, y64);
    f.simd(Simd.f32x4DemoteF64x2Zero);
    if (!high) f.set(lo);
  }
  f.set(res).get(lo).get(res).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).set(res);
  // |x| = 0 or Inf: 0 or Inf by the signs of ln|x| and y (y = 0 and NaN are set below).
  f.f32x4(Number.POSITIVE_INFINITY).f32x4(0);
  f.get(ax).f32x4(Number.POSITIVE_INFINITY).simd(Simd.f32x4Eq).tee(mask).get(y).f32x4(0).simd(Simd.f32x4Lt).simd(Simd.v128Xor);
  f.simd(Simd.v128Bitselect).get(res);
  f.get(mask).get(ax).f32x4(0).simd(Simd.f32x4Eq).simd(Simd.v128Or).simd(Simd.v128Bitselect).set(res);
  // An odd integer y keeps the sign of x; ±Inf and |y| >= 2^24 are even.
  f.get(y).simd(Simd.f32x4Nearest).get(y).simd(Simd.f32x4Eq).set(isInt);
  f.get(y).f32x4(0.5).simd(Simd.f32x4Mul).set(half);
  f.get(res).get(x).i32x4(-0x80000000).simd(Simd.v128And);
  f.get(half).simd(Simd.f32x4Nearest).get(half).simd(Simd.f32x4Ne).get(isInt).simd(Simd.v128And);
  f.simd(Simd.v128And).simd(Simd.v128Or).set(res);
  // NaN for a NaN operand, or a finite negative x with a non-integer y; then x^0 = 1 for every x.
  f.f32x4(Number.NaN).get(res);
  f.get(x).get(x).simd(Simd.f32x4Ne).get(y).get(y).simd(Simd.f32x4Ne).simd(Simd.v128Or);
  f.get(x).f32x4(0).simd(Simd.f32x4Lt).get(x).f32x4(Number.NEGATIVE_INFINITY).simd(Simd.f32x4Ne).simd(Simd.v128And);
  f.get(isInt).simd(Simd.v128AndNot).simd(Simd.v128Or);
  f.simd(Simd.v128Bitselect).set(res);
  f.f32x4(1).get(res).get(y).f32x4(0).simd(Simd.f32x4Eq).simd(Simd.v128Bitselect);
}
