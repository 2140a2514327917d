import { describe, expect, it } from 'vitest';
import { hasRelaxedSimd, hasWasmSimd } from './features.ts';
import { buildGemmModule } from './matmul-kernel.ts';
import * as math from './simd-math.ts';
import { ModuleBuilder, Op, Simd, sleb, uleb, ValType } from './wasm-emitter.ts';

function bytesOf(write: (out: number[]) => void): number[] {
  const out: number[] = [];
  write(out);
  return out;
}

function instantiate(m: ModuleBuilder, memory?: WebAssembly.Memory): Record<string, (...args: number[]) => number> {
  const bytes = m.bytes() as Uint8Array<ArrayBuffer>;
  expect(WebAssembly.validate(bytes)).toBe(true);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), memory ? { env: { memory } } : {}).exports as never;
}

describe('wasm emitter', () => {
  it('encodes LEB128 as the binary format specifies', () => {
    expect(bytesOf((o) => uleb(o, 0))).toEqual([0]);
    expect(bytesOf((o) => uleb(o, 127))).toEqual([0x7f]);
    expect(bytesOf((o) => uleb(o, 128))).toEqual([0x80, 0x01]);
    expect(bytesOf((o) => uleb(o, 624485))).toEqual([0xe5, 0x8e, 0x26]);
    expect(bytesOf((o) => sleb(o, -1))).toEqual([0x7f]);
    expect(bytesOf((o) => sleb(o, 63))).toEqual([0x3f]);
    expect(bytesOf((o) => sleb(o, 64))).toEqual([0xc0, 0x00]);
    expect(bytesOf((o) => sleb(o, -123456))).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('emits control flow, locals and calls that validate and run', () => {
    const m = new ModuleBuilder();
    const square = m.function(undefined, [ValType.i32], [ValType.i32]);
    square.get(0).get(0).op(Op.i32Mul);
    // Σ i² for i < n, through forRange and a call.
    const f = m.function('sumSquares', [ValType.i32], [ValType.i32]);
    const i = f.local(ValType.i32);
    const total = f.local(ValType.i32);
    f.forRange(i, () => f.i32(0), () => f.get(0), 1, () => {
      f.get(total).get(i).call(square).op(Op.i32Add).set(total);
    });
    f.get(total);
    const g = m.function('clampToTen', [ValType.i32], [ValType.i32]);
    g.get(0).i32(10).op(Op.i32GtS).ifElse(() => g.i32(10), () => g.get(0), ValType.i32);
    const { sumSquares, clampToTen } = instantiate(m);
    expect(sumSquares!(10)).toBe(285);
    expect(sumSquares!(0)).toBe(0);
    expect(clampToTen!(25)).toBe(10);
    expect(clampToTen!(-3)).toBe(-3);
  });

  it('emits SIMD against an imported shared memory', () => {
    expect(hasWasmSimd()).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: 4, shared: true });
    // out[0..4] = a[0..4] * b + exp(a) at byte addresses 0, 16, 32.
    const f = m.function('run', []);
    const v = f.local(ValType.v128);
    f.i32(0).v128Load().set(v);
    f.i32(32).get(v).i32(16).load32Splat().simd(Simd.f32x4Mul);
    math.exp(f, v);
    f.simd(Simd.f32x4Add).v128Store();
    const { run } = instantiate(m, memory);
    const f32 = new Float32Array(memory.buffer);
    f32.set([1, -2, 0.5, 3, 10]);
    run!();
    const expected = [1, -2, 0.5, 3].map((a) => a * 10 + Math.exp(a));
    for (const [k, e] of expected.entries()) expect(f32[8 + k]).toBeCloseTo(e, 4);
  });

  it('validates every GEMM variant, and relaxed SIMD only where the runtime has it', () => {
    for (const broadcast of ['a', 'b'] as const)
      for (const fma of [false, true]) {
        const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: 65536, shared: true });
        buildGemmModule(m, { mr: broadcast === 'a' ? 5 : 8, nr: 8, broadcast, unroll: 2, kc: 64, mc: 32, nc: 64, fma });
        expect(WebAssembly.validate(m.bytes() as Uint8Array<ArrayBuffer>)).toBe(fma ? hasRelaxedSimd() : true);
      }
  });
});
