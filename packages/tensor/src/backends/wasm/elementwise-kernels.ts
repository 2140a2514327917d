import type { BinaryKernelOp, CompareKernelOp, UnaryKernelOp } from '../../backend.ts';
import type { DType } from '../../dtype.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { kernelModule } from './kernel-cache.ts';
import type { WasmBuffer } from './memory.ts';
import * as math from './simd-math.ts';
import { pow } from './simd-pow.ts';
import { addressOf, allocElements, collapse, forEachOuter, type WasmView } from './views.ts';
import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * One generator for every elementwise kernel. An expression over four-lane vectors is wrapped
 * in a loop over a 2-d block [rows, cols]; each operand's innermost stride picks how its vector
 * is loaded: 'c' contiguous (v128.load), 'b' broadcast along the row (one splat per row), or
 * 's' strided (four lane loads). The last cols % 4 elements go through the same expression with
 * lane-wise loads and stores, so no scalar variant is needed. Outer dimensions beyond two are
 * walked in JavaScript, one call per block.
 */

type Mode = 'c' | 'b' | 's';

/** Leaves one v128 on the stack, from v128 locals holding the inputs and the splatted scalar parameters. */
export type VectorExpr = (f: FunctionBuilder, inputs: readonly number[], params: readonly number[]) => void;

export interface MapSpec {
  /** Names the expression; with the operand modes it keys the compiled kernel. */
  key: string;
  arity: number;
  params?: number;
  /** Scalar parameters are int32 (splatted as i32x4) rather than float32. */
  intParams?: boolean;
  expr: VectorExpr;
}

function modeOf(innerStride: number): Mode {
  return innerStride === 1 ? 'c' : innerStride === 0 ? 'b' : 's';
}

function buildMap(f: FunctionBuilder, spec: MapSpec, outMode: Mode, modes: readonly Mode[]): void {
  const [rows, cols, outBase, outRow, outInner] = [0, 1, 2, 3, 4];
  const operand = (k: number) => ({ base: 5 + 3 * k, rowStride: 6 + 3 * k, inner: 7 + 3 * k });
  const paramLocal = (j: number) => 5 + 3 * spec.arity + j;
  const r = f.local(ValType.i32);
  const c = f.local(ValType.i32);
  const cols4 = f.local(ValType.i32);
  const tail = f.local(ValType.i32);
  const outPtr = f.local(ValType.i32);
  const q = f.local(ValType.i32);
  const ptrs = modes.map(() => f.local(ValType.i32));
  const vin = modes.map(() => f.local(ValType.v128));
  const res = f.local(ValType.v128);
  const params = Array.from({ length: spec.params ?? 0 }, (_, j) => {
    const v = f.local(ValType.v128);
    f.get(paramLocal(j)).simd(spec.intParams ? Simd.i32x4Splat : Simd.f32x4Splat).set(v);
    return v;
  });
  f.get(cols).i32(-4).op(Op.i32And).set(cols4);
  f.get(cols).get(cols4).op(Op.i32Sub).set(tail);
  // Contiguous rows go two vectors per iteration first: the out-of-order core then overlaps
  // two independent dependency chains, which long expressions such as exp or gelu need.
  const paired = outMode === 'c' && modes.every((mode) => mode !== 's');
  const cols8 = f.local(ValType.i32);
  const vin2 = modes.map(() => f.local(ValType.v128));
  const res2 = f.local(ValType.v128);
  if (paired) f.get(cols).i32(-8).op(Op.i32And).set(cols8);
  const loadLane = (k: number, lane: number) => {
    // q walks the operand's lanes: base, base + stride, ...
    if (lane > 0) f.get(q).get(operand(k).inner).op(Op.i32Add).set(q);
    f.get(q).get(vin[k]!).load32Lane(lane).set(vin[k]!);
  };
  const storeLane = (lane: number) => {
    if (lane > 0) f.get(q).get(outInner).op(Op.i32Add).set(q);
    f.get(q).get(res).store32Lane(lane);
  };
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(outBase).get(r).get(outRow).op(Op.i32Mul).op(Op.i32Add).set(outPtr);
    modes.forEach((mode, k) => {
      const o = operand(k);
      f.get(o.base).get(r).get(o.rowStride).op(Op.i32Mul).op(Op.i32Add).set(ptrs[k]!);
      if (mode === 'b') f.get(ptrs[k]!).load32Splat().set(vin[k]!);
    });
    if (paired) {
      modes.forEach((mode, k) => {
        if (mode === 'b') f.get(vin[k]!).set(vin2[k]!);
      });
      f.forRange(c, () => f.i32(0), () => f.get(cols8), 8, () => {
        modes.forEach((mode, k) => {
          if (mode !== 'c') return;
          const p = ptrs[k]!;
          f.get(p).v128Load().set(vin[k]!);
          f.get(p).v128Load(16).set(vin2[k]!);
          f.get(p).i32(32).op(Op.i32Add).set(p);
        });
        spec.expr(f, vin, params);
        f.set(res);
        spec.expr(f, vin2, params);
        f.set(res2);
        f.get(outPtr).get(res).v128Store();
        f.get(outPtr).get(res2).v128Store(16);
        f.get(outPtr).i32(32).op(Op.i32Add).set(outPtr);
      });
    }
    f.forRange(c, () => (paired ? f.get(cols8) : f.i32(0)), () => f.get(cols4), 4, () => {
      modes.forEach((mode, k) => {
        const p = ptrs[k]!;
        if (mode === 'c') {
          f.get(p).v128Load().set(vin[k]!);
          f.get(p).i32(16).op(Op.i32Add).set(p);
        } else if (mode === 's') {
          f.get(p).set(q).get(q).load32Zero().set(vin[k]!);
          for (let lane = 1; lane < 4; lane++) loadLane(k, lane);
          f.get(q).get(operand(k).inner).op(Op.i32Add).set(p);
        }
      });
      spec.expr(f, vin, params);
      f.set(res);
      if (outMode === 'c') {
        f.get(outPtr).get(res).v128Store();
        f.get(outPtr).i32(16).op(Op.i32Add).set(outPtr);
      } else {
        f.get(outPtr).set(q);
        for (let lane = 0; lane < 4; lane++) storeLane(lane);
        f.get(q).get(outInner).op(Op.i32Add).set(outPtr);
      }
    });
    // The last 1..3 elements: lane loads into zeroed vectors, the same expression, lane stores.
    f.get(tail).ifElse(() => {
      modes.forEach((mode, k) => {
        if (mode === 'b') return;
        f.get(ptrs[k]!).tee(q).load32Zero().set(vin[k]!);
        f.get(tail).i32(1).op(Op.i32GtU).ifElse(() => {
          loadLane(k, 1);
          f.get(tail).i32(2).op(Op.i32GtU).ifElse(() => loadLane(k, 2));
        });
      });
      spec.expr(f, vin, params);
      f.set(res);
      f.get(outPtr).tee(q).get(res).store32Lane(0);
      f.get(tail).i32(1).op(Op.i32GtU).ifElse(() => {
        storeLane(1);
        f.get(tail).i32(2).op(Op.i32GtU).ifElse(() => storeLane(2));
      });
    });
  });
}

function mapKernel(spec: MapSpec, outMode: Mode, modes: readonly Mode[]) {
  const name = `map:${spec.key}:${outMode}${modes.join('')}`;
  return kernelModule(name, (m) => {
    const paramType = spec.intParams ? ValType.i32 : ValType.f32;
    const params = [...Array<ValType>(5 + 3 * spec.arity).fill(ValType.i32), ...Array<ValType>(spec.params ?? 0).fill(paramType)];
    buildMap(m.function('map', params), spec, outMode, modes);
  }).map!;
}

/**
 * Runs `spec` over views that share one shape, writing into `out` (a view, usually a fresh
 * contiguous buffer). Dimensions are collapsed first, so a broadcast bias or a column of row
 * statistics becomes a 2-d block with a 'b' operand.
 */
export function runMap(spec: MapSpec, out: WasmView, inputs: readonly WasmView[], scalars: readonly number[] = []): void {
  const size = sizeOf(out.shape);
  if (size === 0) return;
  const { shape, strides } = collapse(out.shape, [out.strides, ...inputs.map((x) => x.strides)]);
  while (shape.length < 2) {
    shape.unshift(1);
    for (const s of strides) s.unshift(0);
  }
  const rank = shape.length;
  const [rows, cols] = [shape[rank - 2]!, shape[rank - 1]!];
  const modes = strides.map((s) => modeOf(s[rank - 1]!));
  // The output is never broadcast: a stride-0 output dimension has size 1 and was dropped.
  const fn = mapKernel(spec, modes[0] === 'c' ? 'c' : 's', modes.slice(1));
  const bases = [addressOf(out), ...inputs.map(addressOf)];
  const outer = shape.slice(0, rank - 2);
  const outerStrides = strides.map((s) => s.slice(0, rank - 2));
  const args: number[] = new Array(5 + 3 * inputs.length + scalars.length).fill(0);
  args[0] = rows;
  args[1] = cols;
  scalars.forEach((v, j) => {
    args[5 + 3 * inputs.length + j] = v;
  });
  forEachOuter(outer, outerStrides, (_, offsets) => {
    for (let k = 0; k <= inputs.length; k++) {
      const s = strides[k]!;
      const at = k === 0 ? 2 : 2 + 3 * k;
      args[at] = bases[k]! + offsets[k]! * 4;
      args[at + 1] = s[rank - 2]! * 4;
      args[at + 2] = s[rank - 1]! * 4;
    }
    fn(...args);
  });
}

/** A fresh contiguous output of `shape`. */
export function mapToNew(spec: MapSpec, shape: readonly number[], dtype: DType, inputs: readonly WasmView[], scalars: readonly number[] = []): WasmBuffer {
  const handle = allocElements(sizeOf(shape));
  runMap(spec, { handle, dtype, shape, strides: contiguousStrides(shape), offset: 0 }, inputs, scalars);
  return handle;
}

const simple =
  (...ops: number[]): VectorExpr =>
  (f, [a, b]) => {
    f.get(a!);
    if (b !== undefined) f.get(b);
    for (const o of ops) f.simd(o);
  };

const ONE_MASK: VectorExpr = (f) => f.i32x4(1).simd(Simd.v128And);

/** Unary expressions per dtype; null where the kernel falls back to the reference. */
export const unaryExprs: { [K in UnaryKernelOp]: { float32: VectorExpr; int32: VectorExpr | null } } = {
  neg: { float32: simple(Simd.f32x4Neg), int32: simple(Simd.i32x4Neg) },
  exp: { float32: (f, [x]) => math.exp(f, x!), int32: null },
  log: { float32: (f, [x]) => math.log(f, x!), int32: null },
  sqrt: { float32: simple(Simd.f32x4Sqrt), int32: null },
  rsqrt: { float32: (f, [x]) => f.f32x4(1).get(x!).simd(Simd.f32x4Sqrt).simd(Simd.f32x4Div), int32: null },
  tanh: { float32: (f, [x]) => math.tanh(f, x!), int32: null },
  sigmoid: { float32: (f, [x]) => math.sigmoid(f, x!), int32: null },
  // f32x4.max propagates NaN, as Math.max in the reference.
  relu: { float32: (f, [x]) => f.get(x!).f32x4(0).simd(Simd.f32x4Max), int32: (f, [x]) => f.get(x!).i32x4(0).simd(Simd.i32x4MaxS) },
  erf: { float32: (f, [x]) => math.erf(f, x!), int32: null },
  gelu: { float32: (f, [x]) => math.gelu(f, x!), int32: null },
  geluTanh: { float32: (f, [x]) => math.geluTanh(f, x!), int32: null },
  abs: { float32: simple(Simd.f32x4Abs), int32: simple(Simd.i32x4Abs) },
  // sign keeps ±0 and NaN: x > 0 → 1, x < 0 → -1, else x.
  sign: {
    float32: (f, [x]) => {
      f.f32x4(1).f32x4(-1).get(x!).get(x!).f32x4(0).simd(Simd.f32x4Lt).simd(Simd.v128Bitselect);
      f.get(x!).f32x4(0).simd(Simd.f32x4Gt).simd(Simd.v128Bitselect);
    },
    int32: (f, [x]) => f.get(x!).i32x4(1).simd(Simd.i32x4MinS).i32x4(-1).simd(Simd.i32x4MaxS),
  },
};

export const binaryExprs: { [K in BinaryKernelOp]: { float32: VectorExpr | null; int32: VectorExpr | null } } = {
  add: { float32: simple(Simd.f32x4Add), int32: simple(Simd.i32x4Add) },
  sub: { float32: simple(Simd.f32x4Sub), int32: simple(Simd.i32x4Sub) },
  mul: { float32: simple(Simd.f32x4Mul), int32: simple(Simd.i32x4Mul) },
  div: { float32: simple(Simd.f32x4Div), int32: null },
  // x² and friends are specialised in index.ts. int32 powers stay on the reference: its results
  // are Math.pow's float64 stored into int32, which no int32 arithmetic reproduces past 2^53.
  pow: { float32: (f, [a, b]) => pow(f, a!, b!), int32: null },
  maximum: { float32: simple(Simd.f32x4Max), int32: simple(Simd.i32x4MaxS) },
  minimum: { float32: simple(Simd.f32x4Min), int32: simple(Simd.i32x4MinS) },
};

const cmp =
  (op: number): VectorExpr =>
  (f, inputs, params) => {
    simple(op)(f, inputs, params);
    ONE_MASK(f, inputs, params);
  };

export const compareExprs: { [K in CompareKernelOp]: { float32: VectorExpr; int32: VectorExpr } } = {
  eq: { float32: cmp(Simd.f32x4Eq), int32: cmp(Simd.i32x4Eq) },
  ne: { float32: cmp(Simd.f32x4Ne), int32: cmp(Simd.i32x4Ne) },
  lt: { float32: cmp(Simd.f32x4Lt), int32: cmp(Simd.i32x4LtS) },
  le: { float32: cmp(Simd.f32x4Le), int32: cmp(Simd.i32x4LeS) },
  gt: { float32: cmp(Simd.f32x4Gt), int32: cmp(Simd.i32x4GtS) },
  ge: { float32: cmp(Simd.f32x4Ge), int32: cmp(Simd.i32x4GeS) },
};

/** a where cond is nonzero, else b; the condition's dtype picks the zero test. */
export function whereExpr(condDtype: DType): VectorExpr {
  return (f, [c, a, b]) => {
    f.get(a!).get(b!).get(c!);
    f.i32x4(0).simd(condDtype === 'float32' ? Simd.f32x4Ne : Simd.i32x4Ne);
    f.simd(Simd.v128Bitselect);
  };
}

/** clamp keeps NaN: pmax(x, lo) = x < lo ? lo : x, then pmin(·, hi) = hi < · ? hi : ·. */
export const clampExpr: VectorExpr = (f, [x], [lo, hi]) => {
  f.get(x!).get(lo!).simd(Simd.f32x4Pmax).get(hi!).simd(Simd.f32x4Pmin);
};

/** int32 clamp to bounds already made int32: see `intClampBounds`. */
export const intClampExpr: VectorExpr = (f, [x], [lo, hi]) => {
  f.get(x!).get(lo!).simd(Simd.i32x4MaxS).get(hi!).simd(Simd.i32x4MinS);
};

/**
 * The reference clamps an int32 v in float64 and stores the result into int32 (truncating,
 * wrapping modulo 2^32). Truncation is monotone and keeps integers, so that equals clamping v
 * to trunc(min) and trunc(max), which this returns as int32 bounds; null where a bound makes
 * every result one value outside that reasoning (NaN, or a bound beyond the int32 range on the
 * far side), left to the reference.
 */
export function intClampBounds(min: number, max: number): [number, number] | null {
  const [lo, hi] = [Math.trunc(min), Math.trunc(max)];
  if (!(lo <= 0x7fffffff && hi >= -0x80000000)) return null;
  return [Math.max(lo, -0x80000000), Math.min(hi, 0x7fffffff)];
}

export const identityExpr: VectorExpr = (f, [x]) => f.get(x!);
export const truncExpr: VectorExpr = (f, [x]) => f.get(x!).simd(Simd.i32x4TruncSatF32x4S);
export const toFloatExpr: VectorExpr = (f, [x]) => f.get(x!).simd(Simd.f32x4ConvertI32x4S);

/** x², x³, 1/x and √x: the exponents that pow is used with in practice. */
export function powByScalar(exponent: number): VectorExpr | null {
  switch (exponent) {
    case 1:
      return identityExpr;
    case 2:
      return (f, [x]) => f.get(x!).get(x!).simd(Simd.f32x4Mul);
    case 3:
      return (f, [x]) => f.get(x!).get(x!).simd(Simd.f32x4Mul).get(x!).simd(Simd.f32x4Mul);
    case -1:
      return (f, [x]) => f.f32x4(1).get(x!).simd(Simd.f32x4Div);
    default:
      return null;
  }
}
