import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matmulF32, matmulF32Blocked, matmulF32Direct } from './matmul.ts';

type Strides3 = readonly [number, number, number];

/** A strided [batch, rows, cols] operand: its storage, offset and strides. */
interface Operand {
  data: Float32Array;
  offset: number;
  strides: Strides3;
}

interface Layout {
  /** Store the matrix column-major (a transposed operand). */
  transposed: boolean;
  /** Distance between neighbouring elements along the faster storage axis (2 leaves gaps). */
  step: number;
  /** Batch stride 0: one matrix shared by every batch. */
  broadcast: boolean;
  /** Elements of storage before the view starts. */
  offset: number;
}

const rowMajor: Layout = { transposed: false, step: 1, broadcast: false, offset: 0 };

/** Small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds an operand of logical shape [batch, rows, cols] with the given layout. Storage not covered
 * by the view holds NaN, so reading through a wrong stride or offset poisons the result.
 */
function makeOperand(batch: number, rows: number, cols: number, layout: Layout, rand: () => number): Operand {
  const { transposed, step, broadcast, offset } = layout;
  const inner = transposed ? rows : cols;
  const outer = transposed ? cols : rows;
  const outerStride = Math.max(1, inner * step + (step > 1 ? 1 : 0));
  const matrixSize = Math.max(1, outer * outerStride);
  const stored = broadcast ? 1 : batch;
  const data = new Float32Array(offset + stored * matrixSize + 3).fill(Number.NaN);
  const rowStride = transposed ? step : outerStride;
  const colStride = transposed ? outerStride : step;
  const strides: Strides3 = [broadcast ? 0 : matrixSize, rowStride, colStride];
  for (let t = 0; t < stored; t++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) data[offset + t * strides[0] + i * rowStride + j * colStride] = rand() * 2 - 1;
    }
  }
  return { data, offset, strides };
}

function at(x: Operand, t: number, i: number, j: number): number {
  return x.data[x.offset + t * x.strides[0] + i * x.strides[1] + j * x.strides[2]]!;
}

/** Naive triple loop in float64; also returns sum |a||b| per entry, the scale of rounding error. */
function reference(a: Operand, b: Operand, batch: number, m: number, k: number, n: number) {
  const value = new Float64Array(batch * m * n);
  const scale = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let abs = 0;
        for (let p = 0; p < k; p++) {
          const prod = at(a, t, i, p) * at(b, t, p, j);
          s += prod;
          abs += Math.abs(prod);
        }
        value[(t * m + i) * n + j] = s;
        scale[(t * m + i) * n + j] = abs;
      }
    }
  }
  return { value, scale };
}

const SENTINEL = 12345.5;

/** Runs `matmulF32` into an out buffer pre-filled with garbage and checks it against the reference. */
function check(batch: number, m: number, k: number, n: number, la: Layout, lb: Layout, seed: number): void {
  const rand = rng(seed);
  const a = makeOperand(batch, m, k, la, rand);
  const b = makeOperand(batch, k, n, lb, rand);
  const size = batch * m * n;
  // Garbage inside (must be overwritten, not added to) and a sentinel tail (must stay untouched).
  const out = new Float32Array(size + 4).fill(SENTINEL);
  out.fill(Number.NaN, 0, size);
  matmulF32(a.data, a.offset, a.strides, b.data, b.offset, b.strides, out, batch, m, k, n);
  expectClose(out, reference(a, b, batch, m, k, n), k, `batch=${batch} m=${m} k=${k} n=${n} a=${JSON.stringify(la)} b=${JSON.stringify(lb)}`);
  for (let i = size; i < out.length; i++) expect(out[i]).toBe(SENTINEL);
}

function expectClose(out: Float32Array, ref: { value: Float64Array; scale: Float64Array }, k: number, label: string): void {
  const tol = 1e-5 * Math.sqrt(Math.max(k, 1));
  for (let i = 0; i < ref.value.length; i++) {
    const got = out[i]!;
    const want = ref.value[i]!;
    const err = Math.abs(got - want);
    if (!(err <= tol * ref.scale[i]! + 1e-30)) {
      throw new Error(`${label}: out[${i}] = ${got}, expected ${want} (error ${err}, allowed ${tol * ref.scale[i]!})`);
    }
  }
}

/** Calls one of the single-matrix kernels directly, bypassing the size-based dispatch. */
function checkKernel(kernel: typeof matmulF32Blocked, m: number, k: number, n: number, la: Layout, lb: Layout, seed: number): void {
  const rand = rng(seed);
  const a = makeOperand(1, m, k, la, rand);
  const b = makeOperand(1, k, n, lb, rand);
  const outOff = 3;
  const out = new Float32Array(outOff + m * n + 2).fill(SENTINEL);
  out.fill(Number.NaN, outOff, outOff + m * n);
  kernel(a.data, a.offset, a.strides[1], a.strides[2], b.data, b.offset, b.strides[1], b.strides[2], out, outOff, m, k, n);
  expectClose(out.subarray(outOff, outOff + m * n), reference(a, b, 1, m, k, n), k, `m=${m} k=${k} n=${n}`);
  for (let i = 0; i < outOff; i++) expect(out[i]).toBe(SENTINEL);
  for (let i = outOff + m * n; i < out.length; i++) expect(out[i]).toBe(SENTINEL);
}

const layoutArb: fc.Arbitrary<Layout> = fc.record({
  transposed: fc.boolean(),
  step: fc.constantFrom(1, 1, 2),
  broadcast: fc.boolean(),
  offset: fc.constantFrom(0, 0, 1, 7),
});

describe('matmulF32', () => {
  it('multiplies a 1×1 by a 1×1', () => {
    const out = new Float32Array(1);
    matmulF32(Float32Array.of(3), 0, [0, 1, 1], Float32Array.of(-2.5), 0, [0, 1, 1], out, 1, 1, 1, 1);
    expect(out[0]).toBe(-7.5);
  });

  it('matches the naive product on small odd shapes', () => {
    let seed = 1;
    for (const m of [1, 2, 3, 5, 7]) {
      for (const k of [1, 2, 3, 5, 9]) {
        for (const n of [1, 3, 4, 6, 11]) check(1, m, k, n, rowMajor, rowMajor, seed++);
      }
    }
  });

  it('matches on shapes that straddle the micro-tile and cache-block edges', () => {
    const shapes: [number, number, number][] = [
      [4, 4, 4],
      [63, 255, 65],
      [64, 256, 256],
      [65, 257, 257],
      [67, 300, 130],
      [129, 513, 5],
      [3, 520, 259],
      [130, 7, 514],
    ];
    let seed = 100;
    for (const [m, k, n] of shapes) check(1, m, k, n, rowMajor, rowMajor, seed++);
  });

  it('reads transposed operands through their strides', () => {
    const t: Layout = { ...rowMajor, transposed: true };
    let seed = 200;
    for (const [m, k, n] of [
      [5, 7, 3],
      [37, 41, 43],
      [70, 300, 90],
    ] as const) {
      check(1, m, k, n, t, rowMajor, seed++);
      check(1, m, k, n, rowMajor, t, seed++);
      check(1, m, k, n, t, t, seed++);
    }
  });

  it('handles gapped strides and non-zero offsets', () => {
    const gapped: Layout = { transposed: false, step: 2, broadcast: false, offset: 5 };
    const gappedT: Layout = { transposed: true, step: 2, broadcast: false, offset: 9 };
    check(2, 33, 45, 21, gapped, gappedT, 300);
    check(2, 66, 70, 40, gappedT, gapped, 301);
  });

  it('broadcasts a batch through a zero batch stride', () => {
    const shared: Layout = { ...rowMajor, broadcast: true };
    const sharedT: Layout = { transposed: true, step: 1, broadcast: true, offset: 2 };
    let seed = 400;
    for (const [batch, m, k, n] of [
      [3, 5, 6, 7],
      [4, 40, 50, 60],
      [3, 1, 70, 80],
    ] as const) {
      check(batch, m, k, n, rowMajor, shared, seed++); // B shared: batch folds into m
      check(batch, m, k, n, shared, rowMajor, seed++); // A shared
      check(batch, m, k, n, shared, sharedT, seed++); // both shared
      check(batch, m, k, n, { ...rowMajor, transposed: true }, shared, seed++); // B shared, A not foldable
    }
  });

  it('gives zeros when k = 0 and writes nothing when m or n = 0', () => {
    const empty = new Float32Array(0);
    const out = new Float32Array(2 * 3 * 4 + 1).fill(Number.NaN);
    out[24] = SENTINEL;
    matmulF32(empty, 0, [0, 0, 1], empty, 0, [0, 4, 1], out, 2, 3, 0, 4);
    expect(Array.from(out.subarray(0, 24))).toEqual(new Array(24).fill(0));
    expect(out[24]).toBe(SENTINEL);

    const untouched = Float32Array.of(SENTINEL);
    matmulF32(empty, 0, [0, 5, 1], new Float32Array(10), 0, [0, 2, 1], untouched, 1, 0, 5, 2);
    matmulF32(new Float32Array(10), 0, [0, 5, 1], empty, 0, [0, 0, 1], untouched, 1, 2, 5, 0);
    matmulF32(empty, 0, [0, 5, 1], empty, 0, [0, 2, 1], untouched, 0, 2, 5, 2);
    expect(untouched[0]).toBe(SENTINEL);
  });

  it('matches the naive product on random shapes and layouts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 70 }),
        layoutArb,
        layoutArb,
        fc.integer(),
        (batch, m, k, n, la, lb, seed) => check(batch, m, k, n, la, lb, seed),
      ),
      { numRuns: 150 },
    );
  });
});

describe('matmul kernels', () => {
  it('blocked kernel handles tiny and edge shapes without the direct fallback', () => {
    let seed = 500;
    for (const m of [1, 2, 3, 4, 5, 8, 9]) {
      for (const n of [1, 2, 3, 4, 5, 7, 8]) {
        for (const k of [0, 1, 3, 4]) checkKernel(matmulF32Blocked, m, k, n, rowMajor, rowMajor, seed++);
      }
    }
  });

  it('blocked kernel handles transposed operands across several k and n blocks', () => {
    const t: Layout = { ...rowMajor, transposed: true };
    checkKernel(matmulF32Blocked, 9, 600, 530, t, t, 600);
    checkKernel(matmulF32Blocked, 131, 257, 6, rowMajor, t, 601);
  });

  it('direct kernel matches on random layouts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 12 }),
        layoutArb,
        layoutArb,
        fc.integer(),
        (m, k, n, la, lb, seed) =>
          checkKernel(matmulF32Direct, m, k, n, { ...la, broadcast: false }, { ...lb, broadcast: false }, seed),
      ),
      { numRuns: 100 },
    );
  });
});
