import type { ArgReduceKernelOp } from '../../backend.ts';
import type { DType } from '../../dtype.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { kernelModule } from './kernel-cache.ts';
import { type WasmBuffer, wasmMemory } from './memory.ts';
import { forChunks } from './row-loop.ts';
import { addressOf, allocElements, collapse, forEachOuter, type WasmView } from './views.ts';
import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * argmax, argmin and cumsum: one pass along an axis per output row, in place on any view. The
 * other axes are collapsed and walked in blocks of rows; a block runs as SIMD along its rows when
 * they are contiguous, as SIMD across neighbouring rows (four a vector, streaming along the axis)
 * when those are adjacent, and one element at a time otherwise.
 */

/** Calls `run(rows, xBase, xRow, outBase, outRow)` (bytes) for each block of rows of `x` along `axis`. */
function forEachBlock(
  x: WasmView,
  axis: number,
  outBase: number,
  outStrides: readonly number[],
  run: (rows: number, xBase: number, xRow: number, outBase: number, outRow: number) => void,
): void {
  const kept = [...x.shape.keys()].filter((a) => a !== axis);
  const { shape, strides } = collapse(
    kept.map((a) => x.shape[a]!),
    [kept.map((a) => x.strides[a]!), kept.map((a) => outStrides[a]!)],
  );
  if (shape.length === 0) {
    shape.push(1);
    for (const s of strides) s.push(0);
  }
  const last = shape.length - 1;
  const xBase = addressOf(x);
  forEachOuter(
    shape.slice(0, last),
    strides.map((s) => s.slice(0, last)),
    (_, [xo, oo]) => run(shape[last]!, xBase + xo! * 4, strides[0]![last]! * 4, outBase + oo! * 4, strides[1]![last]! * 4),
  );
}

/**
 * Splits a block into the rows a 'columns' kernel takes (a multiple of four), given scratch for
 * 8 bytes of state a row, and the rows left for the element kernel.
 */
function byFours(rows: number, columns: (fours: number, state: number) => void, rest: (first: number) => void): void {
  const fours = rows & ~3;
  if (fours > 0) {
    const memory = wasmMemory();
    const state = memory.allocRaw(fours * 8);
    columns(fours, state);
    memory.freeRaw(state, fours * 8);
  }
  if (fours < rows) rest(fours);
}

// ---- argmax / argmin ----

/**
 * The js reference's rule, lane by lane: take v when it beats best or is NaN, unless best is
 * already NaN. Leaves an i32x4 mask.
 */
function takeMask(f: FunctionBuilder, op: ArgReduceKernelOp, dtype: DType, v: number, best: number): void {
  if (dtype === 'int32') {
    f.get(v).get(best).simd(op === 'argmax' ? Simd.i32x4GtS : Simd.i32x4LtS);
    return;
  }
  f.get(v).get(best).simd(op === 'argmax' ? Simd.f32x4Gt : Simd.f32x4Lt);
  f.get(v).get(v).simd(Simd.f32x4Ne).simd(Simd.v128Or);
  f.get(best).get(best).simd(Simd.f32x4Eq).simd(Simd.v128And);
}

/** The same rule for scalars (i32 result). */
function takeScalar(f: FunctionBuilder, op: ArgReduceKernelOp, dtype: DType, v: number, best: number): void {
  if (dtype === 'int32') {
    f.get(v).get(best).op(op === 'argmax' ? Op.i32GtS : Op.i32LtS);
    return;
  }
  f.get(v).get(best).op(op === 'argmax' ? Op.f32Gt : Op.f32Lt);
  f.get(v).get(v).op(Op.f32Ne).op(Op.i32Or);
  f.get(best).get(best).op(Op.f32Eq).op(Op.i32And);
}

function identityOf(op: ArgReduceKernelOp, dtype: DType): number {
  if (dtype === 'int32') return op === 'argmax' ? -0x80000000 : 0x7fffffff;
  return op === 'argmax' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** elements(x, rows, xRow, xStep, len, out, outRow): out[r] = arg-extreme of row r, any strides. */
function buildArgElements(f: FunctionBuilder, op: ArgReduceKernelOp, dtype: DType): void {
  const [x, rows, xRow, xStep, len, out, outRow] = [0, 1, 2, 3, 4, 5, 6];
  const type = dtype === 'float32' ? ValType.f32 : ValType.i32;
  const load = (g: FunctionBuilder) => (dtype === 'float32' ? g.f32Load() : g.i32Load());
  const [r, i, p, bi] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const [v, best] = [f.local(type), f.local(type)];
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(x).get(r).get(xRow).op(Op.i32Mul).op(Op.i32Add).tee(p);
    load(f);
    f.set(best).i32(0).set(bi);
    f.forRange(i, () => f.i32(1), () => f.get(len), 1, () => {
      f.get(p).get(xStep).op(Op.i32Add).tee(p);
      load(f);
      f.set(v);
      takeScalar(f, op, dtype, v, best);
      f.ifElse(() => f.get(v).set(best).get(i).set(bi));
    });
    f.get(out).get(r).get(outRow).op(Op.i32Mul).op(Op.i32Add).get(bi).i32Store();
  });
}

/**
 * rows(x, rows, xRow, len, out, outRow) for contiguous rows, in two passes: the extreme m (NaN
 * if the row has one), then the first element equal to m, or the first NaN, where the second
 * pass stops. The first pass uses pmax/pmin, single instructions that skip NaN, and notes NaNs
 * apart: the NaN-propagating max is several instructions on every vector of a long row.
 */
function buildArgRows(f: FunctionBuilder, op: ArgReduceKernelOp, dtype: DType): void {
  const [x, rows, xRow, len, out, outRow] = [0, 1, 2, 3, 4, 5];
  const float = dtype === 'float32';
  const identity = identityOf(op, dtype);
  const [r, p, q, j] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const [acc, nan, m, v] = [f.local(ValType.v128), f.local(ValType.v128), f.local(ValType.v128), f.local(ValType.v128)];
  const [best, e] = [f.local(float ? ValType.f32 : ValType.i32), f.local(float ? ValType.f32 : ValType.i32)];
  const push = () => (float ? f.f32x4(identity) : f.i32x4(identity));
  const extreme = float ? (op === 'argmax' ? Simd.f32x4Pmax : Simd.f32x4Pmin) : op === 'argmax' ? Simd.i32x4MaxS : Simd.i32x4MinS;
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(x).get(r).get(xRow).op(Op.i32Mul).op(Op.i32Add).tee(p).set(q);
    push();
    f.set(acc).i32x4(0).set(nan);
    forChunks(f, q, -1, len, push, (chunk) => {
      // pmax(acc, v) is v only when acc < v, so a NaN never enters acc.
      f.get(acc).get(chunk).simd(extreme).set(acc);
      if (float) f.get(nan).get(chunk).get(chunk).simd(Simd.f32x4Ne).simd(Simd.v128Or).set(nan);
    });
    f.get(acc).get(acc).get(acc).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).simd(extreme).set(acc);
    f.get(acc).get(acc).get(acc).shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]).simd(extreme).set(m);
    if (float) f.get(nan).simd(Simd.v128AnyTrue).ifElse(() => f.f32x4(Number.NaN).set(m));
    f.get(m).lane(float ? Simd.f32x4ExtractLane : Simd.i32x4ExtractLane, 0).set(best);
    f.i32(0).set(j);
    f.block((found) => {
      f.loop((top) => {
        f.get(j).i32(4).op(Op.i32Add).get(len).op(Op.i32GtS).brIf(found);
        f.get(p).get(j).i32(4).op(Op.i32Mul).op(Op.i32Add).v128Load().set(v);
        f.get(v).get(m).simd(float ? Simd.f32x4Eq : Simd.i32x4Eq);
        if (float) f.get(v).get(v).simd(Simd.f32x4Ne).simd(Simd.v128Or);
        f.simd(Simd.v128AnyTrue).brIf(found);
        f.get(j).i32(4).op(Op.i32Add).set(j).br(top);
      });
    });
    f.block((found) => {
      f.loop((top) => {
        f.get(j).get(len).op(Op.i32GeS).brIf(found);
        f.get(p).get(j).i32(4).op(Op.i32Mul).op(Op.i32Add);
        if (float) f.f32Load().set(e).get(e).get(best).op(Op.f32Eq).get(e).get(e).op(Op.f32Ne).op(Op.i32Or).brIf(found);
        else f.i32Load().set(e).get(e).get(best).op(Op.i32Eq).brIf(found);
        f.get(j).i32(1).op(Op.i32Add).set(j).br(top);
      });
    });
    f.get(out).get(r).get(outRow).op(Op.i32Mul).op(Op.i32Add).get(j).i32Store();
  });
}

/**
 * columns(x, rows, xStep, len, out, state) for adjacent rows (the axis is not last): the pass
 * streams along the axis over all rows at once, four per vector, with each row's best value and
 * index in `state` (8 bytes a row), so memory is read in order.
 */
function buildArgColumns(f: FunctionBuilder, op: ArgReduceKernelOp, dtype: DType): void {
  const [x, rows, xStep, len, out, state] = [0, 1, 2, 3, 4, 5];
  const identity = identityOf(op, dtype);
  const [c, i, p, q, indices] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const [v, best, at, mask] = [f.local(ValType.v128), f.local(ValType.v128), f.local(ValType.v128), f.local(ValType.v128)];
  f.get(state).get(rows).i32(4).op(Op.i32Mul).op(Op.i32Add).set(indices);
  f.forRange(c, () => f.i32(0), () => f.get(rows), 4, () => {
    f.get(state).get(c).i32(4).op(Op.i32Mul).op(Op.i32Add);
    if (dtype === 'float32') f.f32x4(identity);
    else f.i32x4(identity);
    f.v128Store();
    f.get(indices).get(c).i32(4).op(Op.i32Mul).op(Op.i32Add).i32x4(0).v128Store();
  });
  f.forRange(i, () => f.i32(0), () => f.get(len), 1, () => {
    f.get(x).get(i).get(xStep).op(Op.i32Mul).op(Op.i32Add).set(p);
    f.get(i).simd(Simd.i32x4Splat).set(at);
    f.forRange(c, () => f.i32(0), () => f.get(rows), 4, () => {
      f.get(state).get(c).i32(4).op(Op.i32Mul).op(Op.i32Add).tee(q).v128Load().set(best);
      f.get(p).v128Load().set(v);
      takeMask(f, op, dtype, v, best);
      f.set(mask);
      f.get(q).get(v).get(best).get(mask).simd(Simd.v128Bitselect).v128Store();
      f.get(q).get(rows).i32(4).op(Op.i32Mul).op(Op.i32Add).tee(q);
      f.get(at).get(q).v128Load().get(mask).simd(Simd.v128Bitselect).v128Store();
      f.get(p).i32(16).op(Op.i32Add).set(p);
    });
  });
  f.forRange(c, () => f.i32(0), () => f.get(rows), 4, () => {
    f.get(out).get(c).i32(4).op(Op.i32Mul).op(Op.i32Add);
    f.get(indices).get(c).i32(4).op(Op.i32Mul).op(Op.i32Add).v128Load().v128Store();
  });
}

function argModule(op: ArgReduceKernelOp, dtype: DType) {
  return kernelModule(`arg:${op}:${dtype}`, (m) => {
    const i32 = ValType.i32;
    buildArgElements(m.function('elements', [i32, i32, i32, i32, i32, i32, i32]), op, dtype);
    buildArgRows(m.function('rows', [i32, i32, i32, i32, i32, i32]), op, dtype);
    buildArgColumns(m.function('columns', [i32, i32, i32, i32, i32, i32]), op, dtype);
  });
}

export function argReduce(op: ArgReduceKernelOp) {
  return (x: WasmView, axis: number): WasmBuffer => {
    const keptShape = x.shape.filter((_, a) => a !== axis);
    const out = allocElements(sizeOf(keptShape));
    const len = x.shape[axis]!;
    if (sizeOf(keptShape) === 0) return out;
    if (len === 0) {
      // No extreme to find: the ops layer rejects this, and the reference leaves nothing either.
      wasmMemory().i32.fill(0, out.ptr >>> 2, (out.ptr >>> 2) + sizeOf(keptShape));
      return out;
    }
    const fns = argModule(op, x.dtype);
    const outStrides = contiguousStrides(x.shape.map((n, a) => (a === axis ? 1 : n)));
    const xStep = x.strides[axis]! * 4;
    forEachBlock(x, axis, out.ptr, outStrides, (rows, xBase, xRow, outBase, outRow) => {
      if (xStep === 4) fns.rows!(xBase, rows, xRow, len, outBase, outRow);
      else if (xRow === 4 && outRow === 4) {
        byFours(
          rows,
          (fours, state) => fns.columns!(xBase, fours, xStep, len, outBase, state),
          (first) => fns.elements!(xBase + first * 4, rows - first, xRow, xStep, len, outBase + first * 4, outRow),
        );
      } else fns.elements!(xBase, rows, xRow, xStep, len, outBase, outRow);
    });
    return out;
  };
}

// ---- cumsum ----

/**
 * elements(x, out, rows, xRow, xStep, outRow, outStep, len): a running sum along each row. float32
 * sums run in float64 and round on store, exactly as the js reference does.
 */
function buildCumsumElements(f: FunctionBuilder, dtype: DType): void {
  const [x, out, rows, xRow, xStep, outRow, outStep, len] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, i, p, q] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const s = f.local(dtype === 'float32' ? ValType.f64 : ValType.i32);
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(x).get(r).get(xRow).op(Op.i32Mul).op(Op.i32Add).set(p);
    f.get(out).get(r).get(outRow).op(Op.i32Mul).op(Op.i32Add).set(q);
    if (dtype === 'float32') f.f64(0).set(s);
    else f.i32(0).set(s);
    f.forRange(i, () => f.i32(0), () => f.get(len), 1, () => {
      f.get(q);
      if (dtype === 'float32') f.get(s).get(p).f32Load().op(Op.f64PromoteF32).op(Op.f64Add).tee(s).op(Op.f32DemoteF64).f32Store();
      else f.get(s).get(p).i32Load().op(Op.i32Add).tee(s).i32Store();
      f.get(p).get(xStep).op(Op.i32Add).set(p);
      f.get(q).get(outStep).op(Op.i32Add).set(q);
    });
  });
}

/**
 * columns(x, out, rows, xStep, outStep, len, state) for adjacent rows: streams along the axis over
 * all rows at once, four per vector, keeping each row's running sum in `state` (float64 for
 * float32 sums, 8 bytes a row either way).
 */
function buildCumsumColumns(f: FunctionBuilder, dtype: DType): void {
  const [x, out, rows, xStep, outStep, len, state] = [0, 1, 2, 3, 4, 5, 6];
  const [c, i, p, q, s] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const [v, lo, hi] = [f.local(ValType.v128), f.local(ValType.v128), f.local(ValType.v128)];
  const high = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  f.forRange(c, () => f.i32(0), () => f.get(rows), 2, () => {
    f.get(state).get(c).i32(8).op(Op.i32Mul).op(Op.i32Add).i32x4(0).v128Store();
  });
  f.forRange(i, () => f.i32(0), () => f.get(len), 1, () => {
    f.get(x).get(i).get(xStep).op(Op.i32Mul).op(Op.i32Add).set(p);
    f.get(out).get(i).get(outStep).op(Op.i32Mul).op(Op.i32Add).set(q);
    f.get(state).set(s);
    f.forRange(c, () => f.i32(0), () => f.get(rows), 4, () => {
      f.get(p).v128Load().set(v);
      if (dtype === 'float32') {
        f.get(s).v128Load().get(v).simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add).set(lo);
        f.get(s).v128Load(16).get(v).get(v).shuffle(high).simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add).set(hi);
        f.get(s).get(lo).v128Store().get(s).get(hi).v128Store(16);
        f.get(q).get(lo).simd(Simd.f32x4DemoteF64x2Zero).get(hi).simd(Simd.f32x4DemoteF64x2Zero);
        f.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).v128Store();
        f.get(s).i32(32).op(Op.i32Add).set(s);
      } else {
        f.get(s).v128Load().get(v).simd(Simd.i32x4Add).set(lo);
        f.get(s).get(lo).v128Store().get(q).get(lo).v128Store();
        f.get(s).i32(16).op(Op.i32Add).set(s);
      }
      f.get(p).i32(16).op(Op.i32Add).set(p);
      f.get(q).i32(16).op(Op.i32Add).set(q);
    });
  });
}

export function cumsum(x: WasmView, axis: number): WasmBuffer {
  const size = sizeOf(x.shape);
  const out = allocElements(size);
  const len = x.shape[axis]!;
  if (size === 0) return out;
  const fns = kernelModule(`cumsum:${x.dtype}`, (m) => {
    const i32 = ValType.i32;
    buildCumsumElements(m.function('elements', [i32, i32, i32, i32, i32, i32, i32, i32]), x.dtype);
    buildCumsumColumns(m.function('columns', [i32, i32, i32, i32, i32, i32, i32]), x.dtype);
  });
  const outStrides = contiguousStrides(x.shape);
  const [xStep, outStep] = [x.strides[axis]! * 4, outStrides[axis]! * 4];
  forEachBlock(x, axis, out.ptr, outStrides, (rows, xBase, xRow, outBase, outRow) => {
    if (xRow === 4 && outRow === 4 && xStep !== 4) {
      byFours(
        rows,
        (fours, state) => fns.columns!(xBase, outBase, fours, xStep, outStep, len, state),
        (first) => fns.elements!(xBase + first * 4, outBase + first * 4, rows - first, xRow, xStep, outRow, outStep, len),
      );
    } else fns.elements!(xBase, outBase, rows, xRow, xStep, outRow, outStep, len);
  });
  return out;
}
