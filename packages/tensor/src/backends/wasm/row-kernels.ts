import { ValueError } from '../../errors.ts';
import { contiguousStrides, isContiguous, sizeOf } from '../../shape.ts';
import { identityExpr, mapToNew, runMap } from './elementwise-kernels.ts';
import { kernelModule } from './kernel-cache.ts';
import { type WasmBuffer, wasmMemory } from './memory.ts';
import { forChunks, horizontal } from './row-loop.ts';
import * as math from './simd-math.ts';
import { addressOf, allocElements, type WasmView } from './views.ts';
import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * Fused kernels over rows of a contiguous [rows, len] block: softmax, logSoftmax, layerNorm,
 * rmsNorm and crossEntropy, each a few SIMD passes over a row that stays in L1. Views that are
 * not contiguous along the row are copied into that layout first (and softmax results back).
 */

/** `row` and `rows` are i32 locals: the current row's index and the row count. */
type RowBody = (f: FunctionBuilder, x: number, out: number, len: number, extra: readonly number[], position: { row: number; rows: number }) => void;

/**
 * fn(x, out, rows, len, ...extra): `body` once per row with x and out at the row's start. A
 * checked function returns 0, or 1 where its body returned early on bad input.
 */
function rowsFunction(f: FunctionBuilder, outStride: 'row' | 'one', extras: number, body: RowBody, checked: boolean): void {
  const [x, out, rows, len] = [0, 1, 2, 3];
  const extra = Array.from({ length: extras }, (_, i) => 4 + i);
  const r = f.local(ValType.i32);
  const px = f.local(ValType.i32);
  const po = f.local(ValType.i32);
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(x).get(r).get(len).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(px);
    f.get(out).get(r);
    if (outStride === 'row') f.get(len).op(Op.i32Mul);
    f.i32(4).op(Op.i32Mul).op(Op.i32Add).set(po);
    body(f, px, po, len, extra, { row: r, rows });
  });
  if (checked) f.i32(0);
}

/**
 * Folds the row's lanes into a running pmax: whole vectors unless `tailOnly`, then the last
 * len % 4 values. pmax (acc < v ? v : acc) is one instruction where f32x4.max is several; it
 * skips NaN, but a NaN in the row still makes its sum of exponentials, so every output, NaN.
 */
function foldMax(f: FunctionBuilder, x: number, len: number, acc: number, tailOnly: boolean): void {
  const p = f.local(ValType.i32);
  const n = f.local(ValType.i32);
  f.get(x);
  if (tailOnly) f.get(len).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).op(Op.i32Add);
  f.set(p);
  f.get(len);
  if (tailOnly) f.i32(3).op(Op.i32And);
  f.set(n);
  forChunks(f, p, -1, n, Number.NEGATIVE_INFINITY, (v) => f.get(acc).get(v).simd(Simd.f32x4Pmax).set(acc));
}

/** The maximum folded into `acc` as a splatted v128 local, with -Inf (a fully masked row) replaced by 0 as the reference does. */
function finishMax(f: FunctionBuilder, acc: number): number {
  const m = f.local(ValType.v128);
  horizontal(f, acc, Op.f32Max);
  f.simd(Simd.f32x4Splat).set(m);
  f.f32x4(0).get(m).get(m).f32x4(Number.NEGATIVE_INFINITY).simd(Simd.f32x4Eq).simd(Simd.v128Bitselect).set(m);
  return m;
}

/** Row maximum as a splatted v128 local (see finishMax). */
function rowMax(f: FunctionBuilder, x: number, len: number): number {
  const acc = f.local(ValType.v128);
  f.f32x4(Number.NEGATIVE_INFINITY).set(acc);
  foldMax(f, x, len, acc, false);
  return finishMax(f, acc);
}

/**
 * The maximum of rows that lie back to back, read ahead: the exp pass over one row, bound by
 * arithmetic, also folds the next row's whole vectors into `acc`, so that row streams in from
 * memory meanwhile instead of in a max pass that only waits on it. `max` returns this row's
 * maximum (the first row reads its own whole vectors); `ahead` is what sumExp takes.
 */
function maxAhead(f: FunctionBuilder, x: number, len: number, position: { row: number; rows: number }) {
  const acc = f.local(ValType.v128);
  const bytes = f.local(ValType.i32);
  return {
    max: () => {
      f.get(position.row).op(Op.i32Eqz).ifElse(() => {
        f.f32x4(Number.NEGATIVE_INFINITY).set(acc);
        foldMax(f, x, len, acc, false);
      }, () => foldMax(f, x, len, acc, true));
      const m = finishMax(f, acc);
      f.f32x4(Number.NEGATIVE_INFINITY).set(acc);
      // The last row reads itself again instead of past its end; its fold is unused.
      f.get(len).i32(4).op(Op.i32Mul).i32(0).get(position.row).i32(1).op(Op.i32Add).get(position.rows).op(Op.i32LtS).op(Op.select).set(bytes);
      return m;
    },
    ahead: { acc, bytes },
  };
}

/**
 * Σ exp(x − m) over the row as a splatted v128 local; optionally stores each exp into `out`, and
 * folds the vectors `ahead.bytes` further on into `ahead.acc` by pmax (whole vectors only). Two
 * vectors go per iteration, with two sums, so that two exp chains overlap; forChunks takes the
 * last len % 8 values.
 */
function sumExp(f: FunctionBuilder, x: number, out: number | null, len: number, m: number, ahead: { acc: number; bytes: number } | null = null): number {
  const p = f.local(ValType.i32);
  const q = f.local(ValType.i32);
  const end = f.local(ValType.i32);
  const rest = f.local(ValType.i32);
  const acc = f.local(ValType.v128);
  const acc2 = f.local(ValType.v128);
  const s = f.local(ValType.v128);
  const expOf = (v: number, sum: number): number => {
    const d = f.local(ValType.v128);
    f.get(v).get(m).simd(Simd.f32x4Sub).set(d);
    const e = math.expLocal(f, d);
    f.get(sum).get(e).simd(Simd.f32x4Add).set(sum);
    return e;
  };
  const foldAhead = (offset: number) => {
    if (ahead) f.get(ahead.acc).get(p).get(ahead.bytes).op(Op.i32Add).v128Load(offset).simd(Simd.f32x4Pmax).set(ahead.acc);
  };
  f.get(x).set(p);
  if (out !== null) f.get(out).set(q);
  f.f32x4(0).tee(acc).set(acc2);
  f.get(p).get(len).i32(-8).op(Op.i32And).i32(4).op(Op.i32Mul).op(Op.i32Add).set(end);
  f.block((done) => {
    f.get(p).get(end).op(Op.i32GeU).brIf(done);
    f.loop((top) => {
      const v1 = f.local(ValType.v128);
      const v2 = f.local(ValType.v128);
      f.get(p).v128Load().set(v1);
      f.get(p).v128Load(16).set(v2);
      foldAhead(0);
      foldAhead(16);
      const e1 = expOf(v1, acc);
      const e2 = expOf(v2, acc2);
      if (out !== null) {
        f.get(q).get(e1).v128Store();
        f.get(q).get(e2).v128Store(16);
        f.get(q).i32(32).op(Op.i32Add).set(q);
      }
      f.get(p).i32(32).op(Op.i32Add).tee(p).get(end).op(Op.i32LtU).brIf(top);
    });
  });
  f.get(len).i32(7).op(Op.i32And).set(rest);
  // forChunks emits the body for whole vectors first, then once for the last len % 4 values.
  let wholeVectors = true;
  forChunks(f, p, out === null ? -1 : q, rest, Number.NEGATIVE_INFINITY, (v, store) => {
    if (wholeVectors) foldAhead(0);
    wholeVectors = false;
    const e = expOf(v, acc);
    if (out !== null) store(() => f.get(e));
  });
  f.get(acc).get(acc2).simd(Simd.f32x4Add).set(acc);
  horizontal(f, acc, Op.f32Add);
  f.simd(Simd.f32x4Splat).set(s);
  return s;
}

/** out = (x − shift) · scale over the row, with optional per-column weight and bias rows. */
function affine(
  f: FunctionBuilder,
  x: number,
  out: number,
  len: number,
  shift: number | null,
  scale: number | null,
  weight: number | null,
  bias: number | null,
  shiftLo: number | null = null,
): void {
  const p = f.local(ValType.i32);
  const q = f.local(ValType.i32);
  const pw = f.local(ValType.i32);
  const pb = f.local(ValType.i32);
  const wv = f.local(ValType.v128);
  f.get(x).set(p);
  f.get(out).set(q);
  if (weight !== null) f.get(weight).set(pw);
  if (bias !== null) f.get(bias).set(pb);
  forChunks(f, p, q, len, 0, (v, store) => {
    store(() => {
      f.get(v);
      if (shift !== null) f.get(shift).simd(Simd.f32x4Sub);
      if (shiftLo !== null) f.get(shiftLo).simd(Simd.f32x4Sub);
      if (scale !== null) f.get(scale).simd(Simd.f32x4Mul);
      // Weight and bias are read as whole vectors, also in the tail where only the stored lanes
      // matter: the read may pass their end by 12 bytes, which the memory's slack keeps in bounds.
      if (weight !== null) {
        f.get(pw).v128Load().set(wv).get(wv).simd(Simd.f32x4Mul);
        f.get(pw).i32(16).op(Op.i32Add).set(pw);
      }
      if (bias !== null) {
        f.get(pb).v128Load().simd(Simd.f32x4Add);
        f.get(pb).i32(16).op(Op.i32Add).set(pb);
      }
    });
  });
}

const softmaxBody: RowBody = (f, x, out, len, _, position) => {
  const { max, ahead } = maxAhead(f, x, len, position);
  const m = max();
  const s = sumExp(f, x, out, len, m, ahead);
  const inv = f.local(ValType.v128);
  f.f32x4(1).get(s).simd(Simd.f32x4Div).set(inv);
  affine(f, out, out, len, null, inv, null, null);
};

/** (x − m) − log Σ exp(x − m): subtracting m first keeps the small log term's precision. */
const logSoftmaxBody: RowBody = (f, x, out, len, _, position) => {
  const { max, ahead } = maxAhead(f, x, len, position);
  const m = max();
  const s = sumExp(f, x, null, len, m, ahead);
  const logSum = f.local(ValType.v128);
  const p = f.local(ValType.i32);
  const q = f.local(ValType.i32);
  math.log(f, s);
  f.set(logSum);
  f.get(x).set(p).get(out).set(q);
  forChunks(f, p, q, len, 0, (v, store) => store(() => f.get(v).get(m).simd(Simd.f32x4Sub).get(logSum).simd(Simd.f32x4Sub)));
};

/** Adds the four lanes of v to two float64x2 accumulators. */
function addF64(f: FunctionBuilder, lo: number, hi: number, v: number): void {
  f.get(lo).get(v).simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add).set(lo);
  f.get(hi).get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add).set(hi);
}

/** Leaves the float64 total of two float64x2 accumulators on the stack. */
function totalF64(f: FunctionBuilder, lo: number, hi: number): void {
  f.get(lo).get(hi).simd(Simd.f64x2Add).set(lo);
  f.get(lo).lane(Simd.f64x2ExtractLane, 0).get(lo).lane(Simd.f64x2ExtractLane, 1).op(Op.f64Add);
}

/**
 * Mean and 1/sqrt(var + eps) (for rms, of the mean square) as splatted locals. Both sums run in
 * float64, as in the js reference, so a constant row has exactly zero variance.
 */
function moments(f: FunctionBuilder, x: number, len: number, eps: number, centred: boolean): { mean: number; meanLo: number; rstd: number } {
  const p = f.local(ValType.i32);
  const lo = f.local(ValType.v128);
  const hi = f.local(ValType.v128);
  const mean = f.local(ValType.v128);
  const meanLo = f.local(ValType.v128);
  const m64 = f.local(ValType.f64);
  const rstd = f.local(ValType.v128);
  const d = f.local(ValType.v128);
  const n = f.local(ValType.f64);
  f.get(len).op(Op.f64ConvertI32S).set(n);
  f.f32x4(0).tee(mean).set(meanLo);
  if (centred) {
    f.get(x).set(p).f32x4(0).tee(lo).set(hi);
    forChunks(f, p, -1, len, 0, (v) => addF64(f, lo, hi, v));
    totalF64(f, lo, hi);
    // The mean as hi + lo float32s: x − hi is exact for x near the mean, and − lo restores the rest.
    f.get(n).op(Op.f64Div).tee(m64).op(Op.f32DemoteF64).simd(Simd.f32x4Splat).set(mean);
    f.get(m64).get(mean).lane(Simd.f32x4ExtractLane, 0).op(Op.f64PromoteF32).op(Op.f64Sub).op(Op.f32DemoteF64).simd(Simd.f32x4Splat).set(meanLo);
  }
  // Tail lanes hold the mean, so they add nothing to the squared deviations.
  f.get(x).set(p).f32x4(0).tee(lo).set(hi);
  forChunks(
    f,
    p,
    -1,
    len,
    () => f.get(mean),
    (v) => {
      f.get(v).get(mean).simd(Simd.f32x4Sub).get(meanLo).simd(Simd.f32x4Sub).set(d);
      f.get(d).get(d).simd(Simd.f32x4Mul).set(d);
      addF64(f, lo, hi, d);
    },
  );
  f.f64(1);
  totalF64(f, lo, hi);
  f.get(n).op(Op.f64Div).get(eps).op(Op.f64PromoteF32).op(Op.f64Add).op(Op.f64Sqrt).op(Op.f64Div);
  f.op(Op.f32DemoteF64).simd(Simd.f32x4Splat).set(rstd);
  return { mean, meanLo, rstd };
}

function normBody(centred: boolean, hasWeight: boolean, hasBias: boolean): RowBody {
  return (f, x, out, len, [eps, weight, bias]) => {
    const { mean, meanLo, rstd } = moments(f, x, len, eps!, centred);
    affine(f, x, out, len, centred ? mean : null, rstd, hasWeight ? weight! : null, hasBias ? bias! : null, centred ? meanLo : null);
  };
}

/**
 * loss = log Σ exp(x − m) + m − x[target], or 0 where target == ignoreIndex; returns 1 at the
 * first other target outside [0, len), which would read past its row.
 */
const crossEntropyBody: RowBody = (f, x, out, len, [targets, ignoreIndex]) => {
  const t = f.local(ValType.i32);
  const r = f.local(ValType.i32);
  // The row index is recovered from the output address: one float per row.
  f.get(out).get(1).op(Op.i32Sub).i32(2).op(Op.i32ShrU).set(r);
  f.get(targets!).get(r).i32(4).op(Op.i32Mul).op(Op.i32Add).i32Load().set(t);
  f.get(t).get(ignoreIndex!).op(Op.i32Eq).ifElse(
    () => f.get(out).f32(0).f32Store(),
    () => {
      f.get(t).get(len).op(Op.i32GeU).ifElse(() => f.i32(1).op(Op.return));
      const m = rowMax(f, x, len);
      const s = sumExp(f, x, null, len, m);
      // log Σ exp(x − m) + (m − x[target]), the difference first for precision.
      f.get(out);
      math.log(f, s);
      f.lane(Simd.f32x4ExtractLane, 0);
      f.get(m).lane(Simd.f32x4ExtractLane, 0);
      f.get(x).get(t).i32(4).op(Op.i32Mul).op(Op.i32Add).f32Load().op(Op.f32Sub).op(Op.f32Add);
      f.f32Store();
    },
  );
};

function rowsModule(key: string, outStride: 'row' | 'one', extraTypes: readonly ValType[], body: RowBody, checked = false) {
  return kernelModule(`rows:${key}`, (m) => {
    const params = [ValType.i32, ValType.i32, ValType.i32, ValType.i32, ...extraTypes];
    rowsFunction(m.function('run', params, checked ? [ValType.i32] : []), outStride, extraTypes.length, body, checked);
  }).run!;
}

/** The view's data as a contiguous buffer: the view's own memory when it already is, else a copy to free after. */
function contiguous(x: WasmView): { ptr: number; temp: WasmBuffer | null } {
  if (isContiguous(x.shape, x.strides)) return { ptr: addressOf(x), temp: null };
  const temp = mapToNew({ key: 'copy', arity: 1, expr: identityExpr }, x.shape, x.dtype, [x]);
  return { ptr: temp.ptr, temp };
}

function release(...temps: Array<WasmBuffer | null>): void {
  for (const t of temps) if (t) wasmMemory().free(t);
}

export function softmaxLike(op: 'softmax' | 'logSoftmax') {
  return (x: WasmView, axis: number): WasmBuffer => {
    const size = sizeOf(x.shape);
    const len = x.shape[axis]!;
    const out = allocElements(size);
    if (size === 0) return out;
    const run = rowsModule(op, 'row', [], op === 'softmax' ? softmaxBody : logSoftmaxBody);
    // Move the axis last; rows then lie contiguous if the view allows, else after one copy.
    const order = [...x.shape.keys()].filter((a) => a !== axis).concat(axis);
    const moved: WasmView = { ...x, shape: order.map((a) => x.shape[a]!), strides: order.map((a) => x.strides[a]!) };
    const src = contiguous(moved);
    if (axis === x.shape.length - 1) {
      run(src.ptr, out.ptr, size / len, len);
    } else {
      const rowsOut = allocElements(size);
      run(src.ptr, rowsOut.ptr, size / len, len);
      // Scatter the axis-last rows back into row-major order of x's shape.
      const movedStrides = contiguousStrides(moved.shape);
      const strides = new Array<number>(x.shape.length);
      order.forEach((a, i) => {
        strides[a] = movedStrides[i]!;
      });
      runMap({ key: 'copy', arity: 1, expr: identityExpr }, { handle: out, dtype: 'float32', shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 }, [
        { handle: rowsOut, dtype: 'float32', shape: x.shape, strides, offset: 0 },
      ]);
      release(rowsOut);
    }
    release(src.temp);
    return out;
  };
}

export function layerNorm(x: WasmView, weight: WasmView | null, bias: WasmView | null, eps: number): WasmBuffer {
  return norm(x, weight, bias, eps, true);
}

export function rmsNorm(x: WasmView, weight: WasmView | null, eps: number): WasmBuffer {
  return norm(x, weight, null, eps, false);
}

function norm(x: WasmView, weight: WasmView | null, bias: WasmView | null, eps: number, centred: boolean): WasmBuffer {
  const size = sizeOf(x.shape);
  const len = x.shape[x.shape.length - 1]!;
  const out = allocElements(size);
  if (size === 0) return out;
  const i32 = ValType.i32;
  const key = `${centred ? 'layerNorm' : 'rmsNorm'}:${weight ? 'w' : ''}${bias ? 'b' : ''}`;
  const run = rowsModule(key, 'row', [ValType.f32, i32, i32], normBody(centred, !!weight, !!bias));
  const src = contiguous(x);
  const w = weight ? contiguous(weight) : null;
  const b = bias ? contiguous(bias) : null;
  run(src.ptr, out.ptr, size / len, len, eps, w?.ptr ?? 0, b?.ptr ?? 0);
  release(src.temp, w?.temp ?? null, b?.temp ?? null);
  return out;
}

/** The first target, in row order, that is neither ignoreIndex nor in [0, len). */
function firstBadTarget(ptr: number, rows: number, len: number, ignoreIndex: number): number | null {
  const start = ptr >>> 2;
  for (const t of wasmMemory().i32.subarray(start, start + rows)) if (t !== ignoreIndex && !(t >= 0 && t < len)) return t;
  return null;
}

export function crossEntropy(logits: WasmView, targets: WasmView, ignoreIndex: number): WasmBuffer {
  const [rows, len] = [logits.shape[0]!, logits.shape[1]!];
  const out = allocElements(rows);
  if (rows === 0) return out;
  const run = rowsModule('crossEntropy', 'one', [ValType.i32, ValType.i32], crossEntropyBody, true);
  const src = contiguous(logits);
  const t = contiguous(targets);
  const bad = run(src.ptr, out.ptr, rows, len, t.ptr, ignoreIndex) !== 0 ? firstBadTarget(t.ptr, rows, len, ignoreIndex) : null;
  release(src.temp, t.temp);
  if (bad !== null) {
    release(out);
    throw new ValueError('target out of range', { op: 'crossEntropy', arg: 'targets', expected: `class ids in [0, ${len - 1}] or ignoreIndex ${ignoreIndex}`, given: String(bad) });
  }
  return out;
}
