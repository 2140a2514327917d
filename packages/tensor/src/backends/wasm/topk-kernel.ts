import type { DType } from '../../dtype.ts';
import { sizeOf } from '../../shape.ts';
import { identityExpr, mapToNew } from './elementwise-kernels.ts';
import { kernelModule } from './kernel-cache.ts';
import { type WasmBuffer, wasmMemory } from './memory.ts';
import { forChunks } from './row-loop.ts';
import { addressOf, allocElements, collapse, type WasmView } from './views.ts';
import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * topk along the last axis: per row, a binary heap of the k best (value, index) pairs with the
 * worst at the root. A SIMD scan compares four values at a time with a threshold and looks closer
 * only when one of them passes it, which for k much smaller than the row is rare. Popping the
 * heap then writes the indices best first.
 * As in the js reference, NaN ranks as +Inf, and equal values rank by lower index.
 */

const ENTRY = 8; // value bits, then index, per heap slot

/** How a dtype and direction rank heap entries, emitted inline. */
interface Order {
  type: ValType;
  load: (f: FunctionBuilder, offset?: number) => void;
  store: (f: FunctionBuilder) => void;
  /** Leaves whether (av, ai) ranks below (bv, bi), all locals. */
  worse: (f: FunctionBuilder, av: number, ai: number, bv: number, bi: number) => void;
}

function orderOf(dtype: DType, largest: boolean): Order {
  const float = dtype === 'float32';
  const [lt, gt, eq] = float ? [Op.f32Lt, Op.f32Gt, Op.f32Eq] : [Op.i32LtS, Op.i32GtS, Op.i32Eq];
  return {
    type: float ? ValType.f32 : ValType.i32,
    load: (f, offset = 0) => (float ? f.f32Load(offset) : f.i32Load(offset)),
    store: (f) => (float ? f.f32Store() : f.i32Store()),
    worse: (f, av, ai, bv, bi) => {
      f.get(av).get(bv).op(largest ? lt : gt);
      f.get(av).get(bv).op(eq).get(ai).get(bi).op(Op.i32GtS).op(Op.i32And).op(Op.i32Or);
    },
  };
}

/** Writes (v, i) into the slot at address `at`. */
function storeSlot(f: FunctionBuilder, order: Order, at: number, v: number, i: number): void {
  f.get(at).get(v);
  order.store(f);
  f.get(at).get(i).i32Store(4);
}

/** The address of slot `index` (a local) of the heap. */
function slot(f: FunctionBuilder, heap: number, index: number): FunctionBuilder {
  return f.get(heap).get(index).i32(ENTRY).op(Op.i32Mul).op(Op.i32Add);
}

/** siftUp(heap, n, v, i): puts (v, i) into slot n and moves it towards the root past better parents. */
function buildSiftUp(f: FunctionBuilder, order: Order): void {
  const [heap, n, v, i] = [0, 1, 2, 3];
  const [p, parent, at, pv, pi] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(order.type), f.local(ValType.i32)];
  f.get(n).set(p);
  f.block((done) => {
    f.loop((top) => {
      f.get(p).op(Op.i32Eqz).brIf(done);
      f.get(p).i32(1).op(Op.i32Sub).i32(1).op(Op.i32ShrU).set(parent);
      slot(f, heap, parent).tee(at);
      order.load(f);
      f.set(pv).get(at).i32Load(4).set(pi);
      order.worse(f, v, i, pv, pi);
      f.op(Op.i32Eqz).brIf(done);
      slot(f, heap, p).set(at);
      storeSlot(f, order, at, pv, pi);
      f.get(parent).set(p).br(top);
    });
  });
  slot(f, heap, p).set(at);
  storeSlot(f, order, at, v, i);
}

/** siftDown(heap, n, v, i): puts (v, i) at the root of a heap of n and moves it down past worse children. */
function buildSiftDown(f: FunctionBuilder, order: Order): void {
  const [heap, n, v, i] = [0, 1, 2, 3];
  const [p, c, at] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const [cv, ci, dv, di] = [f.local(order.type), f.local(ValType.i32), f.local(order.type), f.local(ValType.i32)];
  f.i32(0).set(p);
  f.block((done) => {
    f.loop((top) => {
      f.get(p).i32(1).op(Op.i32Shl).i32(1).op(Op.i32Add).tee(c).get(n).op(Op.i32GeS).brIf(done);
      slot(f, heap, c).tee(at);
      order.load(f);
      f.set(cv).get(at).i32Load(4).set(ci);
      // Follow the worse of the two children.
      f.get(c).i32(1).op(Op.i32Add).get(n).op(Op.i32LtS).ifElse(() => {
        f.get(at);
        order.load(f, ENTRY);
        f.set(dv).get(at).i32Load(ENTRY + 4).set(di);
        order.worse(f, dv, di, cv, ci);
        f.ifElse(() => f.get(dv).set(cv).get(di).set(ci).get(c).i32(1).op(Op.i32Add).set(c));
      });
      order.worse(f, cv, ci, v, i);
      f.op(Op.i32Eqz).brIf(done);
      slot(f, heap, p).set(at);
      storeSlot(f, order, at, cv, ci);
      f.get(c).set(p).br(top);
    });
  });
  slot(f, heap, p).set(at);
  storeSlot(f, order, at, v, i);
}

/**
 * run(x, rows, xRow, len, k, out, heap): out[r, 0..k) = indices of row r's k best, best first.
 * A first SIMD pass takes the best of each of k blocks of the row; the worst of those, t, has k
 * elements at least as good, so nothing worse than t can rank in the top k. The scan then only
 * looks at elements at least as good as t while the heap fills, and after that at elements
 * strictly better than its root (indices only increase, so an equal value ranks below).
 */
function buildRun(f: FunctionBuilder, dtype: DType, largest: boolean, order: Order, siftUp: FunctionBuilder, siftDown: FunctionBuilder): void {
  const [x, rows, xRow, len, k, out, heap] = [0, 1, 2, 3, 4, 5, 6];
  const float = dtype === 'float32';
  const [r, p, q, b, blockLen, span] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const [j, n, end4, last] = [f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32), f.local(ValType.i32)];
  const [v, threshold, blockBest] = [f.local(order.type), f.local(order.type), f.local(order.type)];
  const [vec, acc] = [f.local(ValType.v128), f.local(ValType.v128)];
  const bestOp = float ? (largest ? Simd.f32x4Pmax : Simd.f32x4Pmin) : largest ? Simd.i32x4MaxS : Simd.i32x4MinS;
  const [atLeast, better] = float ? (largest ? [Op.f32Ge, Op.f32Gt] : [Op.f32Le, Op.f32Lt]) : largest ? [Op.i32GeS, Op.i32GtS] : [Op.i32LeS, Op.i32LtS];
  const vectorAtLeast = float ? (largest ? Simd.f32x4Ge : Simd.f32x4Le) : largest ? Simd.i32x4GeS : Simd.i32x4LeS;
  const vectorBetter = float ? (largest ? Simd.f32x4Gt : Simd.f32x4Lt) : largest ? Simd.i32x4GtS : Simd.i32x4LtS;
  const worstValue = float ? (largest ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY) : largest ? -0x80000000 : 0x7fffffff;
  const pushWorst = () => (float ? f.f32x4(worstValue) : f.i32x4(worstValue));
  // NaN ranks as +Inf.
  const mapNaN = (w: number) => {
    if (float) f.f32x4(Number.POSITIVE_INFINITY).get(w).get(w).get(w).simd(Simd.f32x4Ne).simd(Simd.v128Bitselect).set(w);
  };
  const load = () => {
    f.get(p).get(j).i32(4).op(Op.i32Mul).op(Op.i32Add);
    if (float) f.f32Load().set(v).f32(Number.POSITIVE_INFINITY).get(v).get(v).get(v).op(Op.f32Ne).op(Op.select).set(v);
    else f.i32Load().set(v);
  };
  const rootValue = () => {
    f.get(heap);
    order.load(f);
    f.set(threshold);
  };
  const consider = () => {
    load();
    f.get(n).get(k).op(Op.i32LtS).ifElse(
      () => {
        f.get(v).get(threshold).op(atLeast).ifElse(() => {
          f.get(heap).get(n).get(v).get(j).call(siftUp);
          f.get(n).i32(1).op(Op.i32Add).tee(n).get(k).op(Op.i32Eq).ifElse(rootValue);
        });
      },
      () => {
        f.get(v).get(threshold).op(better).ifElse(() => {
          f.get(heap).get(k).get(v).get(j).call(siftDown);
          rootValue();
        });
      },
    );
  };
  /** Four at a time from j up to end4 (or until the heap is full): a closer look where any passes. */
  const scan = (compare: number, untilFull: boolean) => {
    f.block((exit) => {
      f.loop((top) => {
        f.get(j).get(end4).op(Op.i32GeS).brIf(exit);
        if (untilFull) f.get(n).get(k).op(Op.i32Eq).brIf(exit);
        f.get(p).get(j).i32(4).op(Op.i32Mul).op(Op.i32Add).v128Load().set(vec);
        mapNaN(vec);
        f.get(vec).get(threshold).simd(float ? Simd.f32x4Splat : Simd.i32x4Splat).simd(compare).simd(Simd.v128AnyTrue);
        f.ifElse(
          () => {
            for (let l = 0; l < 4; l++) {
              consider();
              f.get(j).i32(1).op(Op.i32Add).set(j);
            }
          },
          () => f.get(j).i32(4).op(Op.i32Add).set(j),
        );
        f.br(top);
      });
    });
  };
  f.forRange(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(x).get(r).get(xRow).op(Op.i32Mul).op(Op.i32Add).tee(p).set(q);
    // The threshold: the worst of the k block bests (the last block takes the remainder).
    f.get(len).get(k).op(Op.i32DivU).set(blockLen);
    if (float) f.f32(-worstValue);
    else f.i32(largest ? 0x7fffffff : -0x80000000);
    f.set(threshold);
    f.forRange(b, () => f.i32(0), () => f.get(k), 1, () => {
      f.get(b).get(k).i32(1).op(Op.i32Sub).op(Op.i32Eq);
      f.ifElse(
        () => f.get(len).get(b).get(blockLen).op(Op.i32Mul).op(Op.i32Sub),
        () => f.get(blockLen),
        ValType.i32,
      );
      f.set(span);
      pushWorst();
      f.set(acc);
      forChunks(f, q, -1, span, pushWorst, (chunk) => {
        mapNaN(chunk);
        f.get(acc).get(chunk).simd(bestOp).set(acc);
      });
      f.get(acc).get(acc).get(acc).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).simd(bestOp).set(acc);
      f.get(acc).get(acc).get(acc).shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]).simd(bestOp);
      f.lane(float ? Simd.f32x4ExtractLane : Simd.i32x4ExtractLane, 0).set(blockBest);
      // threshold = the worse of threshold and blockBest.
      f.get(threshold).get(blockBest).get(blockBest).get(threshold).op(better).op(Op.select).set(threshold);
    });
    f.i32(0).set(n);
    f.i32(0).set(j);
    f.get(len).i32(-4).op(Op.i32And).set(end4);
    // While the heap fills, values equal to the threshold may enter; after, only better ones
    // (which skips a row of zeros at full speed).
    scan(vectorAtLeast, true);
    scan(vectorBetter, false);
    f.forRange(j, () => f.get(j), () => f.get(len), 1, consider);
    // Pop the worst into the last free place until the heap is empty: best first.
    f.get(k).set(n);
    f.block((done) => {
      f.loop((top) => {
        f.get(n).op(Op.i32Eqz).brIf(done);
        f.get(n).i32(1).op(Op.i32Sub).set(n);
        f.get(out).get(r).get(k).op(Op.i32Mul).get(n).op(Op.i32Add).i32(4).op(Op.i32Mul).op(Op.i32Add);
        f.get(heap).i32Load(4).i32Store();
        slot(f, heap, n).set(last);
        f.get(heap).get(n).get(last);
        order.load(f);
        f.get(last).i32Load(4).call(siftDown);
        f.br(top);
      });
    });
  });
}

function topkModule(dtype: DType, largest: boolean) {
  return kernelModule(`topk:${dtype}:${largest ? 'largest' : 'smallest'}`, (m) => {
    const order = orderOf(dtype, largest);
    const [i32, t] = [ValType.i32, order.type];
    const siftUp = m.function(undefined, [i32, i32, t, i32]);
    const siftDown = m.function(undefined, [i32, i32, t, i32]);
    buildSiftUp(siftUp, order);
    buildSiftDown(siftDown, order);
    buildRun(m.function('run', [i32, i32, i32, i32, i32, i32, i32]), dtype, largest, order, siftUp, siftDown);
  }).run!;
}

export function topk(x: WasmView, k: number, largest: boolean): WasmBuffer {
  const rank = x.shape.length;
  const len = x.shape[rank - 1]!;
  const rows = len === 0 ? 0 : sizeOf(x.shape) / len;
  const out = allocElements(rows * k);
  if (rows * k === 0) return out;
  const run = topkModule(x.dtype, largest);
  const memory = wasmMemory();
  // Rows must lie along memory; the outer axes may have any single stride, or else are copied.
  const outer = collapse(x.shape.slice(0, -1), [x.strides.slice(0, -1)]);
  const inPlace = (len === 1 || x.strides[rank - 1] === 1) && outer.shape.length <= 1;
  const temp = inPlace ? null : mapToNew({ key: 'copy', arity: 1, expr: identityExpr }, x.shape, x.dtype, [x]);
  const [base, xRow] = temp ? [temp.ptr, len * 4] : [addressOf(x), (outer.strides[0]![0] ?? 0) * 4];
  const heap = memory.allocRaw(k * ENTRY);
  run(base, rows, xRow, len, k, out.ptr, heap);
  memory.freeRaw(heap, k * ENTRY);
  if (temp) memory.free(temp);
  return out;
}
