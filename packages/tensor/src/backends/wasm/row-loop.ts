import { type FunctionBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * Emits a SIMD walk over `len` floats at `src` (an i32 local, advanced), four at a time. `body`
 * gets a v128 local with the next four values and a `store` that writes a vector at the matching
 * place of `dst` (an i32 local, also advanced; -1 for none). The last len % 4 values are loaded
 * lane by lane into a vector pre-filled with `fill` (the identity of whatever the body reduces),
 * and stored lane by lane, so the body is written once, for whole vectors.
 */
export function forChunks(
  f: FunctionBuilder,
  src: number,
  dst: number,
  len: number,
  fill: number | (() => void),
  body: (v: number, store: (value: () => void) => void) => void,
): void {
  const end = f.local(ValType.i32);
  const tail = f.local(ValType.i32);
  const v = f.local(ValType.v128);
  const value = f.local(ValType.v128);
  f.get(src).get(len).i32(-4).op(Op.i32And).i32(4).op(Op.i32Mul).op(Op.i32Add).set(end);
  f.get(len).i32(3).op(Op.i32And).set(tail);
  f.block((done) => {
    f.get(src).get(end).op(Op.i32GeU).brIf(done);
    f.loop((top) => {
      f.get(src).v128Load().set(v);
      body(v, (emit) => {
        emit();
        f.set(value).get(dst).get(value).v128Store();
      });
      f.get(src).i32(16).op(Op.i32Add).set(src);
      if (dst >= 0) f.get(dst).i32(16).op(Op.i32Add).set(dst);
      f.get(src).get(end).op(Op.i32LtU).brIf(top);
    });
  });
  f.get(tail).ifElse(() => {
    f.get(src);
    if (typeof fill === 'number') f.f32x4(fill);
    else fill();
    f.load32Lane(0).set(v);
    f.get(tail).i32(1).op(Op.i32GtU).ifElse(() => {
      f.get(src).get(v).load32Lane(1, 4).set(v);
      f.get(tail).i32(2).op(Op.i32GtU).ifElse(() => f.get(src).get(v).load32Lane(2, 8).set(v));
    });
    body(v, (emit) => {
      emit();
      f.set(value).get(dst).get(value).store32Lane(0);
      f.get(tail).i32(1).op(Op.i32GtU).ifElse(() => {
        f.get(dst).get(value).store32Lane(1, 4);
        f.get(tail).i32(2).op(Op.i32GtU).ifElse(() => f.get(dst).get(value).store32Lane(2, 8));
      });
    });
    f.get(src).get(tail).i32(4).op(Op.i32Mul).op(Op.i32Add).set(src);
    if (dst >= 0) f.get(dst).get(tail).i32(4).op(Op.i32Mul).op(Op.i32Add).set(dst);
  });
}

/** Leaves the f32 reduction of a v128's four lanes on the stack (`op` an f32 binary opcode). */
export function horizontal(f: FunctionBuilder, v: number, op: number): void {
  f.get(v).lane(Simd.f32x4ExtractLane, 0).get(v).lane(Simd.f32x4ExtractLane, 1).op(op);
  f.get(v).lane(Simd.f32x4ExtractLane, 2).get(v).lane(Simd.f32x4ExtractLane, 3).op(op).op(op);
}
