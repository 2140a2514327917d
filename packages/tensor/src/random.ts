/**
 * A seeded pseudo-random generator: xoshiro128** seeded through splitmix32.
 *
 * Everything is done in 32-bit integer arithmetic (Math.imul, shifts), so a seed gives the same
 * stream of integers, uniforms and integer draws on every platform. `scripts/random_reference.py`
 * is an independent implementation that produces the golden values the tests check against.
 *
 * Seeding: a seed is any safe integer, read as a 64-bit two's-complement value with low word `lo`
 * and high word `hi`. The first four outputs of the splitmix32 stream started at `lo` give the four
 * state words; when `hi` is nonzero, the first four outputs of the stream started at `hi` are xored
 * into them, so seeds that share their low word still differ from the first draw. An all-zero
 * result (a 2^-128 chance) would stall xoshiro, so it is replaced by word 0 = 0x9e3779b9.
 */

import { ValueError } from './errors.ts';

const TWO_POW_24 = 16777216;
const TWO_POW_26 = 67108864;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const GOLDEN_GAMMA = 0x9e3779b9;

/** The murmur3 finaliser: a bijection on 32-bit words, so splitmix32 never collapses seeds. */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Output `k` (1-based) of the splitmix32 stream started at `state`. */
function splitmix32(state: number, k: number): number {
  return mix32((state + Math.imul(k, GOLDEN_GAMMA)) | 0);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value;
}

function checkSafeInteger(op: string, arg: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ValueError(`\`${arg}\` must be an integer`, { op, arg, expected: 'a safe integer', given: describe(value) });
  }
}

function checkFinite(op: string, arg: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(`\`${arg}\` must be a finite number`, { op, arg, expected: 'a finite number', given: describe(value) });
  }
}

// Scratch views for stepping float32 values by one unit in the last place.
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** The largest float32 strictly below the float32 `x` (x may be +Infinity). */
function float32Below(x: number): number {
  if (x === 0) return -1.401298464324817e-45;
  f32[0] = x;
  i32[0] = x > 0 ? i32[0]! - 1 : i32[0]! + 1;
  return f32[0]!;
}

/** The smallest float32 strictly above the float32 `x` (x may be -Infinity). */
function float32Above(x: number): number {
  if (x === 0) return 1.401298464324817e-45;
  f32[0] = x;
  i32[0] = x > 0 ? i32[0]! + 1 : i32[0]! - 1;
  return f32[0]!;
}

export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  // Box–Muller makes values in pairs; the second is kept for the next call.
  private hasCachedNormal = false;
  private cachedNormal = 0;

  constructor(seed: number) {
    checkSafeInteger('Generator', 'seed', seed);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    this.s0 = splitmix32(lo, 1) | 0;
    this.s1 = splitmix32(lo, 2) | 0;
    this.s2 = splitmix32(lo, 3) | 0;
    this.s3 = splitmix32(lo, 4) | 0;
    if (hi !== 0) {
      this.s0 ^= splitmix32(hi, 1);
      this.s1 ^= splitmix32(hi, 2);
      this.s2 ^= splitmix32(hi, 3);
      this.s3 ^= splitmix32(hi, 4);
    }
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = GOLDEN_GAMMA | 0;
  }

  static fromSeed(seed: number): Generator {
    checkSafeInteger('Generator.fromSeed', 'seed', seed);
    return new Generator(seed);
  }

  /** An independent copy in the same state: both produce the same stream from here on. */
  clone(): Generator {
    const copy = new Generator(0);
    copy.setState(this.getState());
    return copy;
  }

  /** The next 32 random bits, as an integer in [0, 2^32). */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    let s2 = this.s2 ^ s0;
    let s3 = this.s3 ^ s1;
    this.s1 = s1 ^ s2;
    this.s0 = s0 ^ s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    this.s2 = s2;
    this.s3 = s3;
    return result;
  }

  /** A float in [0, 1) from the top 24 bits of one draw, so it is exactly a float32. */
  uniform(): number {
    return (this.nextUint32() >>> 8) / TWO_POW_24;
  }

  /** A float in [0, 1) with 53 random bits (two draws), for uses that need double precision. */
  uniformFloat64(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /**
   * A standard normal value by the Box–Muller transform on two 53-bit uniforms. Integer draws are
   * bit-identical everywhere; the result goes through Math.log/sin/cos, which engines may round
   * differently in the last place.
   */
  normal(): number {
    if (this.hasCachedNormal) {
      this.hasCachedNormal = false;
      return this.cachedNormal;
    }
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.uniformFloat64();
    const u2 = this.uniformFloat64();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.cachedNormal = r * Math.sin(theta);
    this.hasCachedNormal = true;
    return r * Math.cos(theta);
  }

  /** An integer in [low, high), each equally likely (rejection sampling, no modulo bias). */
  randint(low: number, high: number): number {
    const op = 'Generator.randint';
    checkSafeInteger(op, 'low', low);
    checkSafeInteger(op, 'high', high);
    if (high <= low) {
      throw new ValueError('`high` must be greater than `low`', {
        op,
        arg: 'high',
        expected: `an integer greater than low = ${low}`,
        given: String(high),
      });
    }
    const n = high - low;
    // The subtraction is exact when the true difference is at most 2^53; the second test catches
    // a larger difference that rounded down to 2^53.
    if (!(n <= TWO_POW_53 && high - n === low)) {
      throw new ValueError('the range high - low is too large', {
        op,
        arg: 'high',
        expected: 'high - low at most 2^53',
        given: `low = ${low}, high = ${high}`,
      });
    }
    return low + this.below(n);
  }

  /** An integer in [0, n) for an integer 1 <= n <= 2^53, arguments already checked. */
  private below(n: number): number {
    if (n <= TWO_POW_32) {
      // Accept only draws under the largest multiple of n, so every residue is equally likely.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const x = this.nextUint32();
        if (x < limit) return x % n;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % n);
    for (;;) {
      const x = (this.nextUint32() >>> 5) * TWO_POW_26 + (this.nextUint32() >>> 6);
      if (x < limit) return x % n;
    }
  }

  /** A uniformly random permutation of 0 .. n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const op = 'Generator.permutation';
    checkSafeInteger(op, 'n', n);
    if (n < 0 || n > 0x7fffffff) {
      throw new ValueError('`n` is out of range', { op, arg: 'n', expected: 'an integer in [0, 2^31 - 1]', given: String(n) });
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }

  /**
   * Draws `numSamples` indices into `probs`, each with probability proportional to its weight
   * (weights need not sum to 1). Without replacement, each index is drawn at most once; the order
   * follows successive draws, as if each chosen weight were removed before the next draw.
   */
  multinomial(probs: ArrayLike<number>, numSamples: number, replacement = true): Int32Array {
    const op = 'Generator.multinomial';
    if (probs === null || typeof probs !== 'object' || typeof probs.length !== 'number') {
      throw new ValueError('`probs` must be an array of weights', { op, arg: 'probs', expected: 'an array of numbers', given: describe(probs) });
    }
    if (probs.length === 0) {
      throw new ValueError('`probs` is empty', { op, arg: 'probs', expected: 'at least one weight', given: 'an empty array' });
    }
    checkSafeInteger(op, 'numSamples', numSamples);
    if (numSamples < 0 || numSamples > 0x7fffffff) {
      throw new ValueError('`numSamples` is out of range', {
        op,
        arg: 'numSamples',
        expected: 'an integer in [0, 2^31 - 1]',
        given: String(numSamples),
      });
    }
    const indices: number[] = [];
    const weights: number[] = [];
    let total = 0;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i];
      if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) {
        throw new ValueError(`\`probs[${i}]\` must be a finite non-negative number`, {
          op,
          arg: 'probs',
          expected: 'finite non-negative weights',
          given: `probs[${i}] = ${describe(p)}`,
        });
      }
      if (p > 0) {
        indices.push(i);
        weights.push(p);
        total += p;
      }
    }
    if (indices.length === 0) {
      throw new ValueError('`probs` has no positive weight', { op, arg: 'probs', expected: 'at least one positive weight', given: 'all zeros' });
    }
    if (!Number.isFinite(total)) {
      throw new ValueError('the weights in `probs` sum to infinity', { op, arg: 'probs', expected: 'weights with a finite sum', given: 'an overflowing sum' });
    }
    const out = new Int32Array(numSamples);
    if (replacement) {
      const cumulative = new Float64Array(weights.length);
      let running = 0;
      for (let k = 0; k < weights.length; k++) cumulative[k] = running += weights[k]!;
      const last = weights.length - 1;
      for (let s = 0; s < numSamples; s++) {
        const u = this.uniformFloat64() * total;
        // First k with cumulative[k] > u; rounding can leave none, then the last one is taken.
        let lo = 0;
        let hi = last;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cumulative[mid]! > u) hi = mid;
          else lo = mid + 1;
        }
        out[s] = indices[lo]!;
      }
      return out;
    }
    if (numSamples > indices.length) {
      throw new ValueError('cannot draw more samples without replacement than there are positive weights', {
        op,
        arg: 'numSamples',
        expected: `at most ${indices.length} (the number of positive weights)`,
        given: String(numSamples),
      });
    }
    // Exponential race: the order of log(u_i) / p_i, largest first, has the same distribution as
    // drawing one at a time and removing each, at O(n log n) rather than O(n * numSamples).
    const keys = new Float64Array(indices.length);
    for (let k = 0; k < indices.length; k++) keys[k] = Math.log(1 - this.uniformFloat64()) / weights[k]!;
    const order = Array.from({ length: indices.length }, (_, k) => k);
    order.sort((a, b) => keys[b]! - keys[a]! || a - b);
    for (let s = 0; s < numSamples; s++) out[s] = indices[order[s]!]!;
    return out;
  }

  /** Fills `out` with uniform values in [low, high), rounded to float32 but never reaching high. */
  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    const op = 'Generator.fillUniform';
    if (!(out instanceof Float32Array)) {
      throw new ValueError('`out` must be a Float32Array', { op, arg: 'out', expected: 'a Float32Array', given: describe(out) });
    }
    checkFinite(op, 'low', low);
    checkFinite(op, 'high', high);
    // The float32 range that rounding must stay within: [first float32 >= low, last float32 < high].
    let min = Math.fround(low);
    if (min < low) min = float32Above(min);
    let max = Math.fround(high);
    if (max >= high) max = float32Below(max);
    if (!(low < high) || min > max) {
      throw new ValueError('`high` must be greater than `low`, with a float32 value between them', {
        op,
        arg: 'high',
        expected: `a value greater than low = ${low}`,
        given: String(high),
      });
    }
    const width = high - low;
    for (let i = 0; i < out.length; i++) {
      const v = Math.fround(low + width * this.uniform());
      out[i] = Math.min(max, Math.max(min, v));
    }
    return out;
  }

  /** Fills `out` with normal values of the given mean and standard deviation. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    const op = 'Generator.fillNormal';
    if (!(out instanceof Float32Array)) {
      throw new ValueError('`out` must be a Float32Array', { op, arg: 'out', expected: 'a Float32Array', given: describe(out) });
    }
    checkFinite(op, 'mean', mean);
    checkFinite(op, 'std', std);
    if (std < 0) {
      throw new ValueError('`std` must be non-negative', { op, arg: 'std', expected: 'a value >= 0', given: String(std) });
    }
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /**
   * The full state, for checkpoints: the four xoshiro words, then 1 or 0 for whether a normal
   * value is cached, then that value. Plain numbers, so it survives JSON.
   */
  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.hasCachedNormal ? 1 : 0, this.cachedNormal];
  }

  /** Restores a state from `getState`; the stream then continues exactly where it was saved. */
  setState(state: readonly number[]): void {
    const op = 'Generator.setState';
    if (!Array.isArray(state) || state.length !== 6) {
      throw new ValueError('`state` must come from getState()', {
        op,
        arg: 'state',
        expected: 'an array of 6 numbers',
        given: describe(state),
      });
    }
    for (let k = 0; k < 4; k++) {
      const word = state[k];
      if (typeof word !== 'number' || !Number.isInteger(word) || word < 0 || word >= TWO_POW_32) {
        throw new ValueError(`\`state[${k}]\` must be a 32-bit unsigned integer`, {
          op,
          arg: 'state',
          expected: 'integers in [0, 2^32) for the first four entries',
          given: `state[${k}] = ${describe(word)}`,
        });
      }
    }
    if (state[0] === 0 && state[1] === 0 && state[2] === 0 && state[3] === 0) {
      throw new ValueError('the generator state must not be all zero', { op, arg: 'state', expected: 'a nonzero state', given: 'all zeros' });
    }
    const flag = state[4];
    const cached = state[5];
    if (flag !== 0 && flag !== 1) {
      throw new ValueError('`state[4]` must be 0 or 1', { op, arg: 'state', expected: '0 or 1', given: describe(flag) });
    }
    if (typeof cached !== 'number' || !Number.isFinite(cached)) {
      throw new ValueError('`state[5]` must be a finite number', { op, arg: 'state', expected: 'a finite number', given: describe(cached) });
    }
    this.s0 = state[0]! | 0;
    this.s1 = state[1]! | 0;
    this.s2 = state[2]! | 0;
    this.s3 = state[3]! | 0;
    this.hasCachedNormal = flag === 1;
    this.cachedNormal = cached;
  }
}

/** A generator seeded with `seed`; the same seed always gives the same stream. */
export function generator(seed: number): Generator {
  return Generator.fromSeed(seed);
}
