import { ModuleBuilder, Simd, ValType } from './wasm-emitter.ts';

/** A module with one function `() -> v128` whose body is `body`; used to probe what the runtime validates. */
function probe(body: (f: ReturnType<ModuleBuilder['function']>) => void): boolean {
  if (typeof WebAssembly === 'undefined' || typeof WebAssembly.validate !== 'function') return false;
  const m = new ModuleBuilder();
  body(m.function('probe', [], [ValType.v128]));
  try {
    return WebAssembly.validate(m.bytes() as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

let simd: boolean | undefined;
let relaxed: boolean | undefined;

/** Whether the runtime validates SIMD128 (f32x4 arithmetic on v128). */
export function hasWasmSimd(): boolean {
  simd ??= probe((f) => f.f32x4(1).f32x4(2).simd(Simd.f32x4Add));
  return simd;
}

/** Whether the runtime validates relaxed SIMD's fused multiply-add, f32x4.relaxed_madd. */
export function hasRelaxedSimd(): boolean {
  relaxed ??= hasWasmSimd() && probe((f) => f.f32x4(1).f32x4(2).f32x4(3).simd(Simd.f32x4RelaxedMadd));
  return relaxed;
}
