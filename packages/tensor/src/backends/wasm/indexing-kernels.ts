import type { DType } from '../../dtype.ts';
import { ValueError } from '../../errors.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { contiguousData } from '../js/strided.ts';
import { identityExpr, mapToNew } from './elementwise-kernels.ts';
import { kernelModule } from './kernel-cache.ts';
import type { WasmBuffer } from './memory.ts';
import { addressOf, allocElements, asJsView, collapse, forEachOuter, type WasmView } from './views.ts';
import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * gather, scatterAdd, indexSelect and indexAdd as one strided walk. Over the index's positions,
 * a dense operand (gather's output, scatter's source) and the index move with their own strides,
 * and the indexed operand moves with its strides off the axis plus index · its axis stride.
 * indexSelect and indexAdd are the same walk with the 1-d index broadcast over the other axes.
 * When the index is constant along a row and both data operands are contiguous there (an
 * embedding row), the row moves as vectors; otherwise one element at a time, so any view works
 * in place. Scatters add in index order, so repeated indices accumulate as the js reference does.
 */

type Kind = 'gather' | 'scatter';

/**
 * walk(rows, cols, a, aRow, aInner, i, iRow, iInner, t, tRow, tInner, axisStride, size) → 0, or 1
 * at the first index outside [0, size). a: dense operand, i: int32 index, t: indexed operand;
 * pointers and strides in bytes.
 */
function buildWalk(f: FunctionBuilder, kind: Kind, dtype: DType, rowMode: boolean): void {
  const [rows, cols, a, aRow, aInner, i, iRow, iInner, t, tRow, tInner, axisStride, size] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const r = f.local(ValType.i32);
  const c = f.local(ValType.i32);
  const pa = f.local(ValType.i32);
  const pi = f.local(ValType.i32);
  const pt = f.local(ValType.i32);
  const idx = f.local(ValType.i32);
  const cols4 = f.local(ValType.i32);
  const add = dtype === 'float32' ? [Op.f32Add, Simd.f32x4Add] : [Op.i32Add, Simd.i32x4Add];
  const load = (g: FunctionBuilder) => (dtype === 'float32' ? g.f32Load() : g.i32Load());
  const store = (g: FunctionBuilder) => (dtype === 'float32' ? g.f32Store() : g.i32Store());
  // idx = *pi, returning 1 when out of range; pt then moves to the indexed element.
  const index = (target: number) => {
    f.get(pi).i32Load().tee(idx).get(size).op(Op.i32GeU).ifElse(() => f.i32(1).op(Op.return));
    f.get(pt).get(idx).get(axisStride).op(Op.i32Mul).op(Op.i32Add).set(target);
  };
  const q = f.local(ValType.i32);
  const element = (from: number, to: number) => {
    if (kind === 'gather') f.get(to).get(from).i32Load().i32Store();
    else {
      f.get(to).get(to);
      load(f);
      f.get(from);
      load(f);
      f.op(add[0]!);
      store(f);
    }
  };
  f.get(cols).i32(-4).op(Op.i32And).set(cols4);
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(a).get(r).get(aRow).op(Op.i32Mul).op(Op.i32Add).set(pa);
    f.get(i).get(r).get(iRow).op(Op.i32Mul).op(Op.i32Add).set(pi);
    f.get(t).get(r).get(tRow).op(Op.i32Mul).op(Op.i32Add).set(pt);
    if (rowMode) {
      index(q);
      f.forRange(c, () => f.i32(0), () => f.get(cols4), 4, () => {
        if (kind === 'gather') f.get(pa).get(q).v128Load().v128Store();
        else f.get(q).get(q).v128Load().get(pa).v128Load().simd(add[1]!).v128Store();
        f.get(pa).i32(16).op(Op.i32Add).set(pa);
        f.get(q).i32(16).op(Op.i32Add).set(q);
      });
      f.forRange(c, () => f.get(cols4), () => f.get(cols), 1, () => {
        if (kind === 'gather') element(q, pa);
        else element(pa, q);
        f.get(pa).i32(4).op(Op.i32Add).set(pa);
        f.get(q).i32(4).op(Op.i32Add).set(q);
      });
    } else {
      f.forRange(c, () => f.i32(0), () => f.get(cols), 1, () => {
        index(q);
        if (kind === 'gather') element(q, pa);
        else element(pa, q);
        f.get(pa).get(aInner).op(Op.i32Add).set(pa);
        f.get(pi).get(iInner).op(Op.i32Add).set(pi);
        f.get(pt).get(tInner).op(Op.i32Add).set(pt);
      });
    }
  });
  f.i32(0);
}

function walkKernel(kind: Kind, dtype: DType, rowMode: boolean) {
  // A gather copies bits, so one kernel serves both dtypes.
  const key = `index:${kind}:${kind === 'gather' ? '' : dtype}:${rowMode ? 'row' : 'element'}`;
  return kernelModule(key, (m) => {
    buildWalk(m.function('walk', Array<ValType>(13).fill(ValType.i32), [ValType.i32]), kind, dtype, rowMode);
  }).walk!;
}

interface Operand {
  base: number;
  /** Element strides over the walked shape. */
  strides: readonly number[];
}

function outOfRange(op: string, given: number, size: number): ValueError {
  return new ValueError('index out of range', { op, arg: 'index', expected: `indices in [0, ${size - 1}]`, given: String(given) });
}

/** Throws the js reference's error for the first index outside [0, size), if there is one. */
function checkIndices(op: string, index: WasmView, size: number): void {
  for (const i of contiguousData(asJsView(index))) if (!(i >= 0 && i < size)) throw outOfRange(op, i, size);
}

/** Runs the walk over `shape`; `t` has stride 0 on the axis, which `axisStride` (elements) moves instead. */
function walk(op: string, kind: Kind, dtype: DType, shape: readonly number[], a: Operand, i: Operand, t: Operand, axisStride: number, size: number, index: WasmView): void {
  if (sizeOf(shape) === 0) return;
  const { shape: dims, strides } = collapse(shape, [a.strides, i.strides, t.strides]);
  while (dims.length < 2) {
    dims.unshift(1);
    for (const s of strides) s.unshift(0);
  }
  const rank = dims.length;
  const inner = strides.map((s) => s[rank - 1]!);
  const rowMode = inner[0] === 1 && inner[1] === 0 && inner[2] === 1;
  const fn = walkKernel(kind, dtype, rowMode);
  const bases = [a.base, i.base, t.base];
  const args = new Array<number>(13).fill(0);
  args[0] = dims[rank - 2]!;
  args[1] = dims[rank - 1]!;
  args[11] = axisStride * 4;
  args[12] = size;
  forEachOuter(
    dims.slice(0, rank - 2),
    strides.map((s) => s.slice(0, rank - 2)),
    (_, offsets) => {
      for (let k = 0; k < 3; k++) {
        args[2 + 3 * k] = bases[k]! + offsets[k]! * 4;
        args[3 + 3 * k] = strides[k]![rank - 2]! * 4;
        args[4 + 3 * k] = strides[k]![rank - 1]! * 4;
      }
      if (fn(...args) !== 0) checkIndices(op, index, size);
    },
  );
}

/** `strides` with the axis entry set to 0. */
function offAxis(strides: readonly number[], axis: number): number[] {
  return strides.map((s, d) => (d === axis ? 0 : s));
}

/** A 1-d index broadcast over `shape`, moving along `axis` only. */
function alongAxis(index: WasmView, shape: readonly number[], axis: number): Operand {
  return { base: addressOf(index), strides: shape.map((_, d) => (d === axis ? index.strides[0]! : 0)) };
}

function copyOf(x: WasmView): WasmBuffer {
  return mapToNew({ key: 'copy', arity: 1, expr: identityExpr }, x.shape, x.dtype, [x]);
}

export function gather(x: WasmView, axis: number, index: WasmView): WasmBuffer {
  const out = allocElements(sizeOf(index.shape));
  const dense = { base: out.ptr, strides: contiguousStrides(index.shape) };
  const indexed = { base: addressOf(x), strides: offAxis(x.strides, axis) };
  // A 0-d x is one element, picked by index 0, as in the js reference.
  walk('gather', 'gather', x.dtype, index.shape, dense, { base: addressOf(index), strides: index.strides }, indexed, x.strides[axis] ?? 0, x.shape[axis] ?? 1, index);
  return out;
}

export function scatterAdd(base: WasmView, axis: number, index: WasmView, src: WasmView): WasmBuffer {
  const out = copyOf(base);
  const outStrides = contiguousStrides(base.shape);
  const indexed = { base: out.ptr, strides: offAxis(outStrides, axis) };
  walk('scatterAdd', 'scatter', base.dtype, index.shape, { base: addressOf(src), strides: src.strides }, { base: addressOf(index), strides: index.strides }, indexed, outStrides[axis] ?? 0, base.shape[axis] ?? 1, index);
  return out;
}

/** The js reference checks indices once per outer slice, even when the slices are empty. */
function checkEmptySlices(op: string, shape: readonly number[], axis: number, index: WasmView, size: number): void {
  if (sizeOf(shape) === 0 && sizeOf(shape.slice(0, axis)) > 0) checkIndices(op, index, size);
}

export function indexSelect(x: WasmView, axis: number, index: WasmView): WasmBuffer {
  const shape = x.shape.map((n, d) => (d === axis ? index.shape[0]! : n));
  checkEmptySlices('indexSelect', shape, axis, index, x.shape[axis]!);
  const out = allocElements(sizeOf(shape));
  const dense = { base: out.ptr, strides: contiguousStrides(shape) };
  const indexed = { base: addressOf(x), strides: offAxis(x.strides, axis) };
  walk('indexSelect', 'gather', x.dtype, shape, dense, alongAxis(index, shape, axis), indexed, x.strides[axis]!, x.shape[axis]!, index);
  return out;
}

export function indexAdd(base: WasmView, axis: number, index: WasmView, src: WasmView): WasmBuffer {
  checkEmptySlices('indexAdd', src.shape, axis, index, base.shape[axis]!);
  const out = copyOf(base);
  const outStrides = contiguousStrides(base.shape);
  const indexed = { base: out.ptr, strides: offAxis(outStrides, axis) };
  walk('indexAdd', 'scatter', base.dtype, src.shape, { base: addressOf(src), strides: src.strides }, alongAxis(index, src.shape, axis), indexed, outStrides[axis]!, base.shape[axis]!, index);
  return out;
}
