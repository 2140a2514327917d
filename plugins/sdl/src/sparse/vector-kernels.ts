/**
 * The vector loops under the sparse SAE kernels: axpy and dot over contiguous float32 runs, in a
 * small SIMD WebAssembly module written with the tensor package's emitter, with plain JavaScript
 * versions where WebAssembly SIMD is missing. A caller copies its operands into the
 * kernel memory (`reserve`, then `f32.set`), runs the loops on element offsets, and copies results
 * out. The memory is one per process and reused; kernels are synchronous and never nested.
 */

import { wasmEmitter } from '@glassbox/tensor';

export interface VectorKernels {
  /** Float32 view of the kernel memory; renewed by reserve(). */
  f32: Float32Array;
  /** Makes room for `elements` 4-byte elements from offset 0 (old contents may go). */
  reserve(elements: number): void;
  /** m[dst + i] += a · m[src + i] for i < n. */
  axpy(dst: number, src: number, a: number, n: number): void;
  /** Σ m[a + i] · m[b + i] for i < n. */
  dot(a: number, b: number, n: number): number;
}

const { ModuleBuilder, Op, Simd, ValType } = wasmEmitter;
type FunctionBuilder = wasmEmitter.FunctionBuilder;
const { i32, f32, v128 } = ValType;

/** while (i < stop) body(), unsigned, tested before each pass; i and stop are locals. */
function whileBelow(f: FunctionBuilder, i: number, stop: number, body: () => void): void {
  f.block((exit) => {
    f.get(i).get(stop).op(Op.i32GeU).brIf(exit);
    f.loop((top) => {
      body();
      f.get(i).get(stop).op(Op.i32LtU).brIf(top);
    });
  });
}
const bump = (f: FunctionBuilder, local: number, by: number) => f.get(local).i32(by).op(Op.i32Add).set(local);
/** Element offset to byte address, in place. */
const toBytes = (f: FunctionBuilder, local: number) => f.get(local).i32(2).op(Op.i32Shl).set(local);
/** Pushes base + 4 · offset: an element offset into a run at byte address base. */
const address = (f: FunctionBuilder, base: number, offset: number) => f.get(base).get(offset).i32(2).op(Op.i32Shl).op(Op.i32Add);

function axpy(m: wasmEmitter.ModuleBuilder): void {
  const f = m.function('axpy', [i32, i32, f32, i32]);
  const [dst, src, a, n] = [0, 1, 2, 3];
  const [stop4, stop, splat] = [f.local(i32), f.local(i32), f.local(v128)];
  toBytes(f, dst);
  toBytes(f, src);
  f.get(dst).get(n).i32(-4).op(Op.i32And).i32(2).op(Op.i32Shl).op(Op.i32Add).set(stop4);
  address(f, dst, n).set(stop);
  f.get(a).simd(Simd.f32x4Splat).set(splat);
  whileBelow(f, dst, stop4, () => {
    f.get(dst).get(dst).v128Load().get(splat).get(src).v128Load().simd(Simd.f32x4Mul).simd(Simd.f32x4Add).v128Store();
    bump(f, dst, 16);
    bump(f, src, 16);
  });
  whileBelow(f, dst, stop, () => {
    f.get(dst).get(dst).f32Load().get(a).get(src).f32Load().op(Op.f32Mul).op(Op.f32Add).f32Store();
    bump(f, dst, 4);
    bump(f, src, 4);
  });
}

function dot(m: wasmEmitter.ModuleBuilder): void {
  const f = m.function('dot', [i32, i32, i32], [f32]);
  const [a, b, n] = [0, 1, 2];
  const [stop4, stop, acc, sum] = [f.local(i32), f.local(i32), f.local(v128), f.local(f32)];
  toBytes(f, a);
  toBytes(f, b);
  f.get(a).get(n).i32(-4).op(Op.i32And).i32(2).op(Op.i32Shl).op(Op.i32Add).set(stop4);
  address(f, a, n).set(stop);
  whileBelow(f, a, stop4, () => {
    f.get(acc).get(a).v128Load().get(b).v128Load().simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc);
    bump(f, a, 16);
    bump(f, b, 16);
  });
  // The four lane sums in lane order, then the tail on top.
  f.get(acc).lane(Simd.f32x4ExtractLane, 0);
  for (let l = 1; l < 4; l++) f.get(acc).lane(Simd.f32x4ExtractLane, l).op(Op.f32Add);
  f.set(sum);
  whileBelow(f, a, stop, () => {
    f.get(sum).get(a).f32Load().get(b).f32Load().op(Op.f32Mul).op(Op.f32Add).set(sum);
    bump(f, a, 4);
    bump(f, b, 4);
  });
  f.get(sum);
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1 });
  axpy(m);
  dot(m);
  return m.bytes() as Uint8Array<ArrayBuffer>;
}

const PAGE = 65536;

function wasmKernels(): VectorKernels | null {
  if (typeof WebAssembly === 'undefined') return null;
  const bytes = moduleBytes();
  if (!WebAssembly.validate(bytes)) return null;
  const memory = new WebAssembly.Memory({ initial: 1 });
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  } catch {
    // Synchronous compilation can be refused (some browsers' main threads, strict content policies).
    return null;
  }
  const fns = instance.exports as unknown as {
    axpy: (dst: number, src: number, a: number, n: number) => void;
    dot: (a: number, b: number, n: number) => number;
  };
  const kernels: VectorKernels = {
    f32: new Float32Array(memory.buffer),
    reserve(elements) {
      // 16 bytes of slack: nothing reads past a run, but offsets stay valid at the very end.
      const need = Math.ceil((elements * 4 + 16) / PAGE) - memory.buffer.byteLength / PAGE;
      if (need > 0) memory.grow(need);
      if (kernels.f32.buffer !== memory.buffer) {
        kernels.f32 = new Float32Array(memory.buffer);
      }
    },
    axpy: fns.axpy,
    dot: fns.dot,
  };
  return kernels;
}

function jsKernels(): VectorKernels {
  const kernels: VectorKernels = {
    f32: new Float32Array(0),
    reserve(elements) {
      if (kernels.f32.length >= elements) return;
      const buffer = new ArrayBuffer(elements * 4);
      kernels.f32 = new Float32Array(buffer);
    },
    axpy(dst, src, a, n) {
      const m = kernels.f32;
      for (let i = 0; i < n; i++) m[dst + i] = m[dst + i]! + a * m[src + i]!;
    },
    dot(a, b, n) {
      const m = kernels.f32;
      let s = 0;
      for (let i = 0; i < n; i++) s += m[a + i]! * m[b + i]!;
      return s;
    },
  };
  return kernels;
}

let instance: VectorKernels | undefined;

/** The process's kernels: SIMD WebAssembly where it compiles, else plain JavaScript. */
export function vectorKernels(): VectorKernels {
  instance ??= wasmKernels() ?? jsKernels();
  return instance;
}

/** Plain JavaScript kernels, whatever the platform: the reference the WebAssembly ones are tested against. */
export function referenceVectorKernels(): VectorKernels {
  return jsKernels();
}
