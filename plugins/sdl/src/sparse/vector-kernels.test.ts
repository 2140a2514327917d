import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceVectorKernels, vectorKernels } from './vector-kernels.ts';

describe('vector kernels', () => {
  it('agree with the plain JavaScript reference on every length and offset, tails included', () => {
    const fast = vectorKernels();
    const slow = referenceVectorKernels();
    const caseArb = fc.record({
      n: fc.integer({ min: 0, max: 70 }),
      a: fc.integer({ min: 0, max: 9 }),
      b: fc.integer({ min: 80, max: 89 }),
      coefficient: fc.float({ min: -4, max: 4, noNaN: true }),
      seed: fc.integer({ min: 1, max: 1000 }),
    });
    fc.assert(
      fc.property(caseArb, ({ n, a, b, coefficient, seed }) => {
        for (const kernels of [fast, slow]) {
          kernels.reserve(300);
          for (let i = 0; i < 300; i++) kernels.f32[i] = Math.sin(seed * (i + 1));
        }
        expect(fast.dot(a, b, n)).toBeCloseTo(slow.dot(a, b, n), 4);
        fast.axpy(a, b, coefficient, n);
        slow.axpy(a, b, coefficient, n);
        for (let i = 0; i < 100; i++) expect(fast.f32[i]).toBeCloseTo(slow.f32[i]!, 5);
      }),
      { numRuns: 200 },
    );
  });

  it('renew their views when the memory grows', () => {
    const kernels = vectorKernels();
    kernels.reserve(4);
    kernels.reserve(1 << 18);
    expect(kernels.f32.length).toBeGreaterThanOrEqual(1 << 18);
    kernels.f32.set([1, 2, 3, 4], 0);
    kernels.f32.set([1, 1, 1, 1], (1 << 18) - 4);
    expect(kernels.dot((1 << 18) - 4, 0, 4)).toBe(10);
  });
});
