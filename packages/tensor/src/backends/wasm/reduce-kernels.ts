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
 * outputs per vector, walking down the reduced axis). Anything else is first copied into the
 * rows layout. float32 sums accumulate in float64, as the js reference does.
 */

interface Accumulator {
  init: (f: FunctionBuilder) => void;
  add: (f: FunctionBuilder, v: number) => void;
  /** Leaves the four-lane result (f32x4 or i32x4) on the stack. */
  finish: (f: FunctionBuilder) => void;
  /** Pushes the identity as a v128 (what the tail lanes hold). */
  identity: (f: FunctionBuilder) => void;
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
    };
  }
  const acc = f.local(ValType.v128);
  const table = {
    float32: { sum: [Simd.f32x4Add, 0], max: [Simd.f32x4Max, Number.NEGATIVE_INFINITY], min: [Simd.f32x4Min, Number.POSITIVE_INFINITY] },
    int32: { sum: [Simd.i32x4Add, 0], max: [Simd.i32x4MaxS, -0x80000000], min: [Simd.i32x4MinS, 0x7fffffff] },
  } as const;
  const [opcode, identity] = table[dtype][op];
  const push = (g: FunctionBuilder) => (dtype === 'float32' ? g.f32x4(identity) : g.i32x4(identity));
  return {
    init: (g) => push(g).set(acc),
    add: (g, v) => g.get(acc).get(v).simd(opcode).set(acc),
    finish: (g) => g.get(acc),
    identity: push,
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

/** rows(x, rows, rowStride, len, out): out[r] = reduce(x[r·rowStride .. + len]), strides in bytes. */
function buildRows(f: FunctionBuilder, op: ReduceKernelOp, dtype: DType): void {
  const [x, rows, rowStride, len, out] = [0, 1, 2, 3, 4];
  const r = f.local(ValType.i32);
  const p = f.local(ValType.i32);
  const total = f.local(ValType.v128);
  const acc = accumulator(f, op, dtype);
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(x).get(r).get(rowStride).op(Op.i32Mul).op(Op.i32Add).set(p);
    acc.init(f);
    forChunks(f, p, -1, len, () => acc.identity(f), (v) => acc.add(f, v));
    acc.finish(f);
    f.set(total);
    f.get(out).get(r).i32(4).op(Op.i32Mul).op(Op.i32Add);
    foldLanes(f, op, dtype, total);
    if (dtype === 'float32') f.f32Store();
    else f.i32Store();
  });
}

/** columns(x, count, stride, cols, out): out[j] = reduce_i x[i·stride + j] for j < cols. */
function buildColumns(f: FunctionBuilder, op: ReduceKernelOp, dtype: DType): void {
  const [x, count, stride, cols, out] = [0, 1, 2, 3, 4];
  const j = f.local(ValType.i32);
  const i = f.local(ValType.i32);
  const p = f.local(ValType.i32);
  const left = f.local(ValType.i32);
  const v = f.local(ValType.v128);
  const result = f.local(ValType.v128);
  const acc = accumulator(f, op, dtype);
  f.forRange(j, () => f.i32(0), () => f.get(cols), 4, () => {
    f.get(cols).get(j).op(Op.i32Sub).set(left);
    acc.init(f);
    f.get(x).get(j).i32(4).op(Op.i32Mul).op(Op.i32Add).set(p);
    f.forRange(i, () => f.i32(0), () => f.get(count), 1, () => {
      f.get(left).i32(4).op(Op.i32GeS).ifElse(
        () => f.get(p).v128Load().set(v),
        () => {
          acc.identity(f);
          f.set(v).get(p).get(v).load32Lane(0).set(v);
          f.get(left).i32(1).op(Op.i32GtS).ifElse(() => f.get(p).get(v).load32Lane(1, 4).set(v));
          f.get(left).i32(2).op(Op.i32GtS).ifElse(() => f.get(p).get(v).load32Lane(2, 8).set(v));
        },
      );
      acc.add(f, v);
      f.get(p).get(stride).op(Op.i32Add).set(p);
    });
    acc.finish(f);
    f.set(result);
    f.get(out).get(j).i32(4).op(Op.i32Mul).op(Op.i32Add).set(p);
    f.get(left).i32(4).op(Op.i32GeS).ifElse(
      () => f.get(p).get(result).v128Store(),
      () => {
        f.get(p).get(result).store32Lane(0);
        f.get(left).i32(1).op(Op.i32GtS).ifElse(() => f.get(p).get(result).store32Lane(1, 4));
        f.get(left).i32(2).op(Op.i32GtS).ifElse(() => f.get(p).get(result).store32Lane(2, 8));
      },
    );
  });
}

function reduceModule(op: ReduceKernelOp, dtype: DType) {
  return kernelModule(`reduce:${op}:${dtype}`, (m) => {
    const i32 = ValType.i32;
    buildRows(m.function('rows', [i32, i32, i32, i32, i32]), op, dtype);
    buildColumns(m.function('columns', [i32, i32, i32, i32, i32]), op, dtype);
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
      fns.columns!(base, len, rStride * 4, outSize, out.ptr);
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
