import { add, zeros } from '@glassbox/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastPairArb, floatArrayArb, shapeArb, tensorArb } from './arbitraries.ts';

const sample = <T>(arb: fc.Arbitrary<T>, n = 300): T[] => fc.sample(arb, { numRuns: n, seed: 1 });

describe('shapeArb', () => {
  it('respects rank and dimension bounds, with 0 only when empty dims are allowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), (minRank, extra, maxDim, allowEmpty) => {
        const maxRank = minRank + extra;
        for (const shape of sample(shapeArb({ minRank, maxRank, maxDim, allowEmpty }), 20)) {
          expect(shape.length).toBeGreaterThanOrEqual(minRank);
          expect(shape.length).toBeLessThanOrEqual(maxRank);
          for (const d of shape) expect(d).toBeGreaterThanOrEqual(allowEmpty ? 0 : 1);
          for (const d of shape) expect(d).toBeLessThanOrEqual(maxDim);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('produces 0-d scalars, size-1 dimensions and empty dimensions', () => {
    const shapes = sample(shapeArb({ maxRank: 3, allowEmpty: true }));
    expect(shapes.some((s) => s.length === 0)).toBe(true);
    expect(shapes.some((s) => s.includes(1) && s.some((d) => d > 1))).toBe(true);
    expect(shapes.some((s) => s.includes(0))).toBe(true);
  });
});

describe('broadcastPairArb', () => {
  it('gives shapes the engine broadcasts together', () => {
    fc.assert(
      fc.property(broadcastPairArb({ maxRank: 4, allowEmpty: true }), ([a, b]) => {
        expect(() => add(zeros(a), zeros(b))).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it('covers 0-d operands, 1-against-n stretching, rank mismatch and empty dims', () => {
    const pairs = sample(broadcastPairArb({ maxRank: 3, allowEmpty: true }), 500);
    const stretches = ([a, b]: number[][]) => a!.some((d, i) => d === 1 && (b![b!.length - a!.length + i] ?? 1) > 1);
    expect(pairs.some(([a, b]) => a.length === 0 || b.length === 0)).toBe(true);
    expect(pairs.some((p) => stretches(p) || stretches([p[1], p[0]]))).toBe(true);
    expect(pairs.some(([a, b]) => a.length !== b.length)).toBe(true);
    expect(pairs.some(([a, b]) => a.includes(0) || b.includes(0))).toBe(true);
  });
});

describe('floatArrayArb', () => {
  const sizeArb = fc.integer({ min: 0, max: 20 });

  it('stays in [min, max]', () => {
    fc.assert(
      fc.property(sizeArb, fc.integer({ min: -5, max: 5 }), fc.integer({ min: 0, max: 5 }), (size, min, width) => {
        for (const values of sample(floatArrayArb(size, { min, max: min + width }), 5)) {
          expect(values).toHaveLength(size);
          for (const v of values) expect(v >= Math.fround(min) && v <= Math.fround(min + width)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('keeps the margin around 0 and around the avoided points', () => {
    fc.assert(
      fc.property(floatArrayArb(12, { avoidZero: true, avoid: [-1, 1.5], margin: 0.2 }), (values) => {
        for (const v of values) for (const p of [0, -1, 1.5]) expect(Math.abs(v - p)).toBeGreaterThanOrEqual(0.2 - 1e-6);
      }),
    );
  });

  it('keeps values the tie gap apart', () => {
    fc.assert(
      fc.property(sizeArb, fc.constantFrom<true | number>(true, 0.05, 0.25), fc.boolean(), (size, gap, avoidZero) => {
        const g = gap === true ? 0.1 : gap;
        for (const values of sample(floatArrayArb(size, { min: -6, max: 6, avoidNearTies: gap, avoidZero }), 3)) {
          const sorted = Array.from(values).sort((a, b) => a - b);
          for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(g - 1e-6);
          if (avoidZero) for (const v of values) expect(Math.abs(v)).toBeGreaterThanOrEqual(0.1 - 1e-6);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('refuses constraints that leave no room', () => {
    expect(() => floatArrayArb(40, { min: 0, max: 1, avoidNearTies: true })).toThrow(/do not fit/);
    expect(() => floatArrayArb(3, { min: -0.05, max: 0.05, avoidZero: true })).toThrow(/nothing in/);
    expect(() => floatArrayArb(3, { min: 1, max: 0 })).toThrow(/greater than max/);
  });
});

describe('tensorArb', () => {
  it('builds float32 tensors of the asked shape, with their values in the counterexample text', () => {
    fc.assert(
      fc.property(tensorArb({ shape: shapeArb({ maxRank: 3, allowEmpty: true }), min: 1, max: 2, requiresGrad: true }), (t) => {
        expect(t.dtype).toBe('float32');
        expect(t.requiresGrad).toBe(true);
        for (const v of t.data()) expect(v >= 1 && v <= 2).toBe(true);
        expect(fc.stringify(t)).toBe(`tensor([${Array.from(t.data()).join(', ')}], { shape: [${t.shape.join(', ')}] })`);
      }),
      { numRuns: 50 },
    );
    const [fixed] = sample(tensorArb({ shape: [2, 3] }), 1);
    expect(fixed!.shape).toEqual([2, 3]);
    expect(fixed!.requiresGrad).toBe(false);
  });
});
