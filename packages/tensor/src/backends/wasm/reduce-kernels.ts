import type { ReduceKernelOp } from '../../backend.ts';
import type { DType } from '../../dtype.ts';
import { sizeOf } from '../../shape.ts';
import { identityExpr, mapToNew } from './elementwise-kernels.ts';
import { kernelModule } from './kernel-cache.ts';
import type { WasmBuffer } from './memory.ts';
import { wasmMemory } from './memory.ts';
import { forChunks } from './row-loop.ts';
import { addressOf, allocElements, collapse, type WasmView } from './views.ts';
import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * sum, max and min over any set of axes. After putting the kept axes first and collapsing each
 * group, two layouts run in place: reduced elements contiguous ('rows': a vector accumulator
 * per output, folded at the end) and outputs contiguous with one reduced axis ('columns': four
 * outputs per vector, x read in memory order). Anything else is first copied into the rows
 * layout. float32 sums accumulate in float64, as the js reference does.
 */

interface Accumulator {
  init: (f: FunctionBuilder) => void;
  add: (f: FunctionBuilder, v: number) => void;
  /** Leaves the four-lane result (f32x4 or i32x4) on the stack. */
  finish: (f: FunctionBuilder) => void;
  /** Pushes the identity as a v128 (what the tail lanes hold). */
  identity: (f: FunctionBuilder) => void;
  /** Bytes the accumulator takes in memory, and its moves there and back (`ptr` an i32 local). */
  bytes: number;
  load: (f: FunctionBuilder, ptr: number) => void;
  store: (f: FunctionBuilder, ptr: number) => void;
}

/** Memory moves for an accumulator held in v128 locals, stored one after another. */
function moves(locals: readonly number[]): Pick<Accumulator, 'bytes' | 'load' | 'store'> {
  return {
    bytes: 16 * locals.length,
    load: (g, ptr) => {
      for (const [k, l] of locals.entries()) g.get(ptr).v128Load(16 * k).set(l);
    },
    store: (g, ptr) => {
      for (const [k, l] of locals.entries()) g.get(ptr).get(l).v128Store(16 * k);
    },
  };
}

function accumulator(f: FunctionBuilder, op: ReduceKernelOp, dtype: DType): Accumulator {
  if (op === 'sum' && dtype === 'float32') {
    const lo = f.local(ValType.v128);
    const hi = f.local(ValType.v128);
    return {
      init: (g) => g.f32x4(0).tee(lo).set(hi),
      add: (g, v) => {
        g.get(lo).get(v).simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add).set(lo);
        g.get(hi).get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add).set(hi);
      },
      // Lanes 0,1 from lo and 2,3 from hi: the four column sums (or four partial row sums).
      finish: (g) => {
        g.get(lo).simd(Simd.f32x4DemoteF64x2Zero).get(hi).simd(Simd.f32x4DemoteF64x2Zero);
        g.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
      },
      identity: (g) => g.f32x4(0),
      ...moves([lo, hi]),
    };
  }
  const acc = f.local(ValType.v128);
  if (dtype === 'float32') {
    // pmax/pmin are single instructions that skip NaN (pmax(acc, v) is v only when acc < v);
    // the NaN-propagating max/min are several on every vector. So NaNs are noted apart, per
    // lane, and put back at the end: a NaN anywhere makes the result NaN, as in the reference.
    const nan = f.local(ValType.v128);
    const extreme = op === 'max' ? Simd.f32x4Pmax : Simd.f32x4Pmin;
    const identity = op === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    return {
      init: (g) => g.f32x4(identity).set(acc).i32x4(0).set(nan),
      add: (g, v) => {
        g.get(acc).get(v).simd(extreme).set(acc);
        g.get(nan).get(v).get(v).simd(Simd.f32x4Ne).simd(Simd.v128Or).set(nan);
      },
      finish: (g) => g.f32x4(Number.NaN).get(acc).get(nan).simd(Simd.v128Bitselect),
      identity: (g) => g.f32x4(identity),
      ...moves([acc, nan]),
    };
  }
  const table = {
    sum: [Simd.i32x4Add, 0],
    max: [Simd.i32x4MaxS, -0x80000000],
    min: [Simd.i32x4MinS, 0x7fffffff],
  } as const;
  const [opcode, identity] = table[op];
  return {
    init: (g) => g.i32x4(identity).set(acc),
    add: (g, v) => g.get(acc).get(v).simd(opcode).set(acc),
    finish: (g) => g.get(acc),
    identity: (g) => g.i32x4(identity),
    ...moves([acc]),
  };
}

/** A sum that keeps float64 precision across the four lanes of a float32 row. */
function foldLanes(f: FunctionBuilder, op: ReduceKernelOp, dtype: DType, v: number): void {
  const lane = dtype === 'float32' ? Simd.f32x4ExtractLane : Simd.i32x4ExtractLane;
  const scalar = {
    float32: { sum: Op.f32Add, max: Op.f32Max, min: Op.f32Min },
    int32: { sum: Op.i32Add, max: -1, min: -1 },
  }[dtype][op];
  if (scalar >= 0) {
    f.get(v).lane(lane, 0).get(v).lane(lane, 1).op(scalar).get(v).lane(lane, 2).get(v).lane(lane, 3).op(scalar).op(scalar);
    return;
  }
  // i32 max/min: fold with SIMD shuffles, then take lane 0.
  const cmp = op === 'max' ? Simd.i32x4MaxS : Simd.i32x4MinS;
  f.get(v).get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).simd(cmp).set(v);
  f.get(v).get(v).get(v).shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]).simd(cmp).lane(lane, 0);
}

/**
 * rows(x, rows, rowStride, len, out): out[r] = reduce(x[r·rowStride .. + len]), strides in bytes.
 * max and min run four accumulators over 16-element blocks, so the vector ops do not wait on
 * each other; sums keep one, which puts element i in lane i % 4 as the js reference does.
 */
function buildRows(f: FunctionBuilder, op: ReduceKernelOp, dtype: DType): void {
  const [x, rows, rowStride, len, out] = [0, 1, 2, 3, 4];
  const r = f.local(ValType.i32);
  const p = f.local(ValType.i32);
  const end = f.local(ValType.i32);
  const rest = f.local(ValType.i32);
  const v = f.local(ValType.v128);
  const total = f.local(ValType.v128);
  const accs = Array.from({ length: op === 'sum' ? 1 : 4 }, () => accumulator(f, op, dtype));
  const acc = accs[0]!;
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(x).get(r).get(rowStride).op(Op.i32Mul).op(Op.i32Add).set(p);
    for (const a of accs) a.init(f);
    f.get(len).set(rest);
    if (accs.length > 1) {
      f.get(p).get(len).i32(-16).op(Op.i32And).i32(4).op(Op.i32Mul).op(Op.i32Add).set(end);
      f.block((done) => {
        f.get(p).get(end).op(Op.i32GeU).brIf(done);
        f.loop((top) => {
          accs.forEach((a, k) => {
            f.get(p).v128Load(16 * k).set(v);
            a.add(f, v);
          });
          f.get(p).i32(64).op(Op.i32Add).tee(p).get(end).op(Op.i32LtU).brIf(top);
        });
      });
      for (const a of accs.slice(1)) {
        a.finish(f);
        f.set(v);
        acc.add(f, v);
      }
      f.get(len).i32(15).op(Op.i32And).set(rest);
    }
    forChunks(f, p, -1, rest, () => acc.identity(f), (chunk) => acc.add(f, chunk));
    acc.finish(f);
    f.set(total);
    f.get(out).get(r).i32(4).op(Op.i32Mul).op(Op.i32Add);
    foldLanes(f, op, dtype, total);
    if (dtype === 'float32') f.f32Store();
    else f.i32Store();
  });
}

/**
 * columns(x, count, stride, cols, out, state): out[j] = reduce_i x[i·stride + j] for j < cols.
 * The pass reads x in memory order, one row of the axis at a time, with the accumulator of each
 * four columns in `state`: going down the axis for a few columns at a time would touch a new
 * cache line on every step, which is far slower than the extra moves to and from `state`.
 */
function buildColumns(f: FunctionBuilder, op: ReduceKernelOp, dtype: DType): void {
  const [x, count, stride, cols, out, state] = [0, 1, 2, 3, 4, 5];
  const [j, i, p, q, cols4, tail] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const v = f.local(ValType.v128);
  const result = f.local(ValType.v128);
  const acc = accumulator(f, op, dtype);
  const next = (ptr: number, bytes: number) => f.get(ptr).i32(bytes).op(Op.i32Add).set(ptr);
  f.get(cols).i32(-4).op(Op.i32And).set(cols4);
  f.get(cols).i32(3).op(Op.i32And).set(tail);
  f.get(state).set(q);
  f.forRange(j, () => f.i32(0), () => f.get(cols), 4, () => {
    acc.init(f);
    acc.store(f, q);
    next(q, acc.bytes);
  });
  f.forRange(i, () => f.i32(0), () => f.get(count), 1, () => {
    f.get(x).get(i).get(stride).op(Op.i32Mul).op(Op.i32Add).set(p);
    f.get(state).set(q);
    f.forRange(j, () => f.i32(0), () => f.get(cols4), 4, () => {
      acc.load(f, q);
      f.get(p).v128Load().set(v);
      acc.add(f, v);
      acc.store(f, q);
      next(p, 16);
      next(q, acc.bytes);
    });
    f.get(tail).ifElse(() => {
      acc.load(f, q);
      acc.identity(f);
      f.set(v).get(p).get(v).load32Lane(0).set(v);
      f.get(tail).i32(1).op(Op.i32GtS).ifElse(() => f.get(p).get(v).load32Lane(1, 4).set(v));
      f.get(tail).i32(2).op(Op.i32GtS).ifElse(() => f.get(p).get(v).load32Lane(2, 8).set(v));
      acc.add(f, v);
      acc.store(f, q);
    });
  });
  f.get(state).set(q);
  f.get(out).set(p);
  f.forRange(j, () => f.i32(0), () => f.get(cols4), 4, () => {
    acc.load(f, q);
    acc.finish(f);
    f.set(result).get(p).get(result).v128Store();
    next(p, 16);
    next(q, acc.bytes);
  });
  f.get(tail).ifElse(() => {
    acc.load(f, q);
    acc.finish(f);
    f.set(result).get(p).get(result).store32Lane(0);
    f.get(tail).i32(1).op(Op.i32GtS).ifElse(() => f.get(p).get(result).store32Lane(1, 4));
    f.get(tail).i32(2).op(Op.i32GtS).ifElse(() => f.get(p).get(result).store32Lane(2, 8));
  });
}

function reduceModule(op: ReduceKernelOp, dtype: DType) {
  return kernelModule(`reduce:${op}:${dtype}`, (m) => {
    const i32 = ValType.i32;
    buildRows(m.function('rows', [i32, i32, i32, i32, i32]), op, dtype);
    buildColumns(m.function('columns', [i32, i32, i32, i32, i32, i32]), op, dtype);
  });
}

const EMPTY_IDENTITY = { sum: 0, max: Number.NEGATIVE_INFINITY, min: Number.POSITIVE_INFINITY } as const;

export function reduce(op: ReduceKernelOp) {
  return (x: WasmView, axes: readonly number[]): WasmBuffer => {
    const kept = [...x.shape.keys()].filter((a) => !axes.includes(a));
    const keptShape = kept.map((a) => x.shape[a]!);
    const redShape = axes.map((a) => x.shape[a]!);
    const outSize = sizeOf(keptShape);
    const len = sizeOf(redShape);
    if (axes.length === 0) return mapToNew({ key: 'copy', arity: 1, expr: identityExpr }, x.shape, x.dtype, [x]);
    const out = allocElements(outSize);
    if (outSize === 0) return out;
    const memory = wasmMemory();
    if (len === 0) {
      (x.dtype === 'float32' ? memory.f32 : memory.i32).fill(EMPTY_IDENTITY[op], out.ptr >>> 2, (out.ptr >>> 2) + outSize);
      return out;
    }
    const fns = reduceModule(op, x.dtype);
    const k = collapse(keptShape, [kept.map((a) => x.strides[a]!)]);
    const r = collapse(redShape, [axes.map((a) => x.strides[a]!)]);
    const rStride = r.strides[0]![0] ?? 1;
    const base = addressOf(x);
    if (r.shape.length <= 1 && rStride === 1 && k.shape.length <= 1) {
      fns.rows!(base, outSize, (k.strides[0]![0] ?? 0) * 4, len, out.ptr);
    } else if (r.shape.length === 1 && k.shape.length === 1 && k.strides[0]![0] === 1) {
      // Room for the largest accumulator, two vectors, per four outputs.
      const bytes = Math.ceil(outSize / 4) * 32;
      const state = memory.allocRaw(bytes);
      fns.columns!(base, len, rStride * 4, outSize, out.ptr, state);
      memory.freeRaw(state, bytes);
    } else {
      // Lay the reduced elements out contiguously after each output's position, then reduce rows.
      const order = [...kept, ...axes];
      const moved: WasmView = { ...x, shape: order.map((a) => x.shape[a]!), strides: order.map((a) => x.strides[a]!) };
      const tmp = mapToNew({ key: 'copy', arity: 1, expr: identityExpr }, moved.shape, x.dtype, [moved]);
      fns.rows!(tmp.ptr, outSize, len * 4, len, out.ptr);
      memory.free(tmp);
    }
    return out;
  };
}
