import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValueError } from './errors.ts';
import { Generator, generator } from './random.ts';

interface GoldenCase {
  seed: number;
  state: number[];
  uint32: number[];
  uniform: number[];
  uniformFloat64: number[];
  randint_0_10: number[];
  randint_neg5_2pow40: number[];
  randint_0_2pow32: number[];
  randint_0_3000000000: number[];
  permutation_10: number[];
  normal: number[];
  multinomial: number[];
}

// Written by scripts/random_reference.py, an independent implementation.
const golden = JSON.parse(readFileSync(new URL('./fixtures/random.json', import.meta.url), 'utf8')) as {
  multinomialProbs: number[];
  cases: GoldenCase[];
};

function draw<T>(n: number, f: () => T): T[] {
  return Array.from({ length: n }, f);
}

describe('Generator golden values', () => {
  expect(golden.cases.length).toBeGreaterThan(0);
  for (const c of golden.cases) {
    it(`matches the reference for seed ${c.seed}`, () => {
      expect(generator(c.seed).getState().slice(0, 4)).toEqual(c.state);
      const g = generator(c.seed);
      expect(draw(c.uint32.length, () => g.nextUint32())).toEqual(c.uint32);
      const u = generator(c.seed);
      expect(draw(c.uniform.length, () => u.uniform())).toEqual(c.uniform);
      const d = generator(c.seed);
      expect(draw(c.uniformFloat64.length, () => d.uniformFloat64())).toEqual(c.uniformFloat64);
      const r1 = generator(c.seed);
      expect(draw(c.randint_0_10.length, () => r1.randint(0, 10))).toEqual(c.randint_0_10);
      const r2 = generator(c.seed);
      expect(draw(c.randint_neg5_2pow40.length, () => r2.randint(-5, 2 ** 40))).toEqual(c.randint_neg5_2pow40);
      const r3 = generator(c.seed);
      expect(draw(c.randint_0_2pow32.length, () => r3.randint(0, 2 ** 32))).toEqual(c.randint_0_2pow32);
      const r4 = generator(c.seed);
      expect(draw(c.randint_0_3000000000.length, () => r4.randint(0, 3_000_000_000))).toEqual(c.randint_0_3000000000);
      expect(Array.from(generator(c.seed).permutation(10))).toEqual(c.permutation_10);
      expect(Array.from(generator(c.seed).multinomial(golden.multinomialProbs, c.multinomial.length))).toEqual(c.multinomial);
      // Math.log/sin/cos may differ from the reference in the last place, so compare closely.
      const n = generator(c.seed);
      const normals = draw(c.normal.length, () => n.normal());
      normals.forEach((x, i) => {
        expect(x).toBeCloseTo(c.normal[i]!, 12);
      });
    });
  }
});

describe('Generator determinism and state', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = draw(100, ((g) => () => g.nextUint32())(generator(7)));
    const b = draw(100, ((g) => () => g.nextUint32())(Generator.fromSeed(7)));
    const c = draw(100, ((g) => () => g.nextUint32())(new Generator(8)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('distinguishes seeds that share the low 32 bits', () => {
    expect(generator(5).nextUint32()).not.toBe(generator(5 + 2 ** 32).nextUint32());
    expect(generator(-1).getState()).not.toEqual(generator(2 ** 32 - 1).getState());
  });

  it('reproduces the stream after setState, including a cached normal', () => {
    const g = generator(2024);
    g.uniform();
    g.normal(); // leaves the second Box–Muller value cached
    const saved = JSON.parse(JSON.stringify(g.getState())) as number[];
    expect(saved[4]).toBe(1);
    const mixed = (x: Generator) => [x.normal(), x.uniform(), x.randint(0, 1000), x.normal(), x.normal(), x.nextUint32()];
    const first = mixed(g);
    const resumed = generator(1);
    resumed.setState(saved);
    expect(mixed(resumed)).toEqual(first);
    g.setState(saved);
    expect(mixed(g)).toEqual(first);
  });

  it('clone continues independently from the same state', () => {
    const g = generator(3);
    g.normal();
    const h = g.clone();
    expect(draw(10, () => h.normal())).toEqual(draw(10, () => g.normal()));
  });

  it('fillNormal and fillUniform are deterministic', () => {
    const a = generator(11).fillNormal(new Float32Array(33), 1, 2);
    const b = generator(11).fillNormal(new Float32Array(33), 1, 2);
    expect(a).toEqual(b);
    expect(generator(12).fillUniform(new Float32Array(9))).toEqual(generator(12).fillUniform(new Float32Array(9)));
  });
});

describe('Generator distributions', () => {
  it('uniform lies in [0, 1), is a float32, and has the right mean', () => {
    const g = generator(1);
    let sum = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = g.uniform();
      if (!(u >= 0 && u < 1) || Math.fround(u) !== u) throw new Error(`bad uniform: ${u}`);
      sum += u;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
  });

  it('fillUniform stays within [low, high)', () => {
    const out = generator(5).fillUniform(new Float32Array(10_000), -3, 1e-7);
    expect(out.every((v) => v >= -3 && v < 1e-7)).toBe(true);
    // A range one float32 wide must always give that single value.
    const tight = generator(5).fillUniform(new Float32Array(100), 1, 1 + 2 ** -23);
    expect(new Set(tight)).toEqual(new Set([1]));
  });

  it('normal has mean 0 and standard deviation 1 over 100k draws', () => {
    const g = generator(99);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const x = g.normal();
      sum += x;
      sumSq += x * x;
    }
    const mean = sum / n;
    const std = Math.sqrt(sumSq / n - mean * mean);
    // Standard error of the mean is about 0.003; these bounds are ~5 standard errors.
    expect(Math.abs(mean)).toBeLessThan(0.016);
    expect(Math.abs(std - 1)).toBeLessThan(0.012);
  });

  it('fillNormal applies mean and std', () => {
    const out = generator(4).fillNormal(new Float32Array(50_000), 10, 0.5);
    let sum = 0;
    for (const v of out) sum += v;
    expect(Math.abs(sum / out.length - 10)).toBeLessThan(0.02);
    expect(generator(4).fillNormal(new Float32Array(4), 3, 0)).toEqual(new Float32Array([3, 3, 3, 3]));
  });

  it('randint covers [low, high) roughly uniformly', () => {
    const g = generator(17);
    const counts = new Array<number>(7).fill(0);
    const n = 70_000;
    for (let i = 0; i < n; i++) {
      const k = g.randint(-3, 4);
      if (!(Number.isInteger(k) && k >= -3 && k < 4)) throw new Error(`out of range: ${k}`);
      counts[k + 3]!++;
    }
    for (const c of counts) expect(Math.abs(c - n / 7)).toBeLessThan(500);
    expect(g.randint(5, 6)).toBe(5);
  });

  it('randint handles ranges above 2^32', () => {
    const g = generator(23);
    for (let i = 0; i < 1000; i++) {
      const k = g.randint(-(2 ** 52), 2 ** 52); // a range of exactly 2^53
      expect(Number.isSafeInteger(k) && k >= -(2 ** 52) && k < 2 ** 52).toBe(true);
    }
  });

  it('permutation is a permutation', () => {
    const g = generator(8);
    for (const n of [0, 1, 2, 10, 1000]) {
      const p = g.permutation(n);
      expect(p).toBeInstanceOf(Int32Array);
      expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    // Each of the 6 orders of 3 elements should appear about equally often.
    const seen = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const key = g.permutation(3).join(',');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect(seen.size).toBe(6);
    for (const c of seen.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });

  it('multinomial with replacement matches the probabilities', () => {
    const probs = [0.1, 0, 0.2, 0.3, 0.4];
    const n = 50_000;
    const samples = generator(31).multinomial(probs, n);
    expect(samples).toBeInstanceOf(Int32Array);
    const counts = new Array<number>(probs.length).fill(0);
    for (const s of samples) counts[s]!++;
    expect(counts[1]).toBe(0);
    let chiSquare = 0;
    probs.forEach((p, i) => {
      if (p > 0) chiSquare += (counts[i]! - n * p) ** 2 / (n * p);
    });
    // 3 degrees of freedom: the 99.99th percentile is about 21.1.
    expect(chiSquare).toBeLessThan(21);
  });

  it('multinomial accepts unnormalised weights', () => {
    const samples = generator(2).multinomial(new Float64Array([0, 3, 1]), 20_000);
    let ones = 0;
    for (const s of samples) if (s === 1) ones++;
    expect(Math.abs(ones / 20_000 - 0.75)).toBeLessThan(0.02);
  });

  it('multinomial without replacement draws distinct indices with the right first-draw frequencies', () => {
    const g = generator(41);
    const probs = [0.5, 0, 0.3, 0.2];
    const all = g.multinomial(probs, 3, false);
    expect(Array.from(all).sort()).toEqual([0, 2, 3]);
    const first = [0, 0, 0, 0];
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const s = g.multinomial(probs, 2, false);
      if (s[0] === s[1]) throw new Error(`repeated index ${s[0]}`);
      first[s[0]!]!++;
    }
    expect(Math.abs(first[0]! / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(first[2]! / n - 0.3)).toBeLessThan(0.02);
    expect(first[1]).toBe(0);
    expect(g.multinomial(probs, 0, false)).toEqual(new Int32Array(0));
  });
});

describe('Generator argument errors', () => {
  function expectValueError(f: () => unknown, arg: string, fragment: string): void {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValueError);
    const error = caught as ValueError;
    expect(error.arg).toBe(arg);
    expect(error.message).toContain(fragment);
  }

  it('rejects bad seeds', () => {
    expectValueError(() => generator(1.5), 'seed', '1.5');
    expectValueError(() => generator(Number.NaN), 'seed', 'integer');
    expectValueError(() => Generator.fromSeed(2 ** 60), 'seed', 'safe integer');
    expectValueError(() => new Generator('3' as unknown as number), 'seed', '"3"');
  });

  it('rejects bad randint and permutation arguments', () => {
    const g = generator(0);
    expectValueError(() => g.randint(5, 5), 'high', 'greater than');
    expectValueError(() => g.randint(0.5, 3), 'low', 'integer');
    expectValueError(() => g.randint(0, Number.POSITIVE_INFINITY), 'high', 'Infinity');
    expectValueError(() => g.randint(-(2 ** 53 - 1), 2 ** 53 - 1), 'high', 'too large');
    // 2^53 + 1 rounds to 2^53 in floating point; it must still be rejected.
    expectValueError(() => g.randint(-(2 ** 52) - 1, 2 ** 52), 'high', 'too large');
    expectValueError(() => g.permutation(-1), 'n', '-1');
    expectValueError(() => g.permutation(2.5), 'n', '2.5');
  });

  it('rejects bad multinomial arguments', () => {
    const g = generator(0);
    expectValueError(() => g.multinomial([0.5, -0.1], 1), 'probs', 'probs[1] = -0.1');
    expectValueError(() => g.multinomial([0.5, Number.NaN], 1), 'probs', 'probs[1] = NaN');
    expectValueError(() => g.multinomial([1, Number.POSITIVE_INFINITY], 1), 'probs', 'Infinity');
    expectValueError(() => g.multinomial([0, 0], 1), 'probs', 'no positive weight');
    expectValueError(() => g.multinomial([], 1), 'probs', 'empty');
    expectValueError(() => g.multinomial([1.7e308, 1.7e308], 1), 'probs', 'infinity');
    expectValueError(() => g.multinomial([0.5, 0.5], -1), 'numSamples', '-1');
    expectValueError(() => g.multinomial([0.5, 0, 0.5], 3, false), 'numSamples', 'at most 2');
  });

  it('rejects bad fill arguments', () => {
    const g = generator(0);
    expectValueError(() => g.fillUniform(new Float32Array(1), 1, 1), 'high', 'greater than');
    expectValueError(() => g.fillUniform(new Float32Array(1), Number.NaN, 1), 'low', 'finite');
    expectValueError(() => g.fillUniform(new Float64Array(1) as unknown as Float32Array), 'out', 'Float32Array');
    expectValueError(() => g.fillNormal(new Float32Array(1), 0, -1), 'std', '-1');
    expectValueError(() => g.fillNormal(new Float32Array(1), Number.POSITIVE_INFINITY, 1), 'mean', 'finite');
  });

  it('rejects bad states', () => {
    const g = generator(0);
    expectValueError(() => g.setState([1, 2, 3]), 'state', 'length 3');
    expectValueError(() => g.setState([0, 0, 0, 0, 0, 0]), 'state', 'all zero');
    expectValueError(() => g.setState([1, 2, 3, 2 ** 32, 0, 0]), 'state', 'state[3]');
    expectValueError(() => g.setState([1, 2, 3, 4, 2, 0]), 'state', '0 or 1');
    expectValueError(() => g.setState([1, 2, 3, 4, 1, Number.NaN]), 'state', 'finite');
    // A failed setState leaves the generator untouched.
    expect(g.getState()).toEqual(generator(0).getState());
  });
});
