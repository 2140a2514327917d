import type { View } from '../../backend.ts';
import type { DType, TypedArray } from '../../dtype.ts';
import { sizeOf } from '../../shape.ts';
import type { JsView } from '../js/strided.ts';
import { type WasmBuffer, wasmMemory } from './memory.ts';

export type WasmView = View<WasmBuffer>;

/** The buffer's address, after copying it back in if it was spilled; throws if it was freed. */
export function checkLive(buffer: WasmBuffer): number {
  return wasmMemory().use(buffer);
}

/** Byte address of the view's first element. */
export function addressOf(x: WasmView): number {
  return checkLive(x.handle) + x.offset * 4;
}

/** The whole buffer as a typed array over wasm memory (valid until the memory next grows). */
export function arrayOf(buffer: WasmBuffer, dtype: DType): TypedArray {
  const ptr = checkLive(buffer);
  const { memory } = wasmMemory();
  return dtype === 'float32' ? new Float32Array(memory.buffer, ptr, buffer.bytes >>> 2) : new Int32Array(memory.buffer, ptr, buffer.bytes >>> 2);
}

/** The same view over a typed array of wasm memory, for the reference kernels. */
export function asJsView(x: WasmView): JsView {
  return { handle: arrayOf(x.handle, x.dtype), dtype: x.dtype, shape: x.shape, strides: x.strides, offset: x.offset };
}

/** A new uninitialised buffer of `size` four-byte elements. */
export function allocElements(size: number): WasmBuffer {
  return wasmMemory().alloc(size * 4);
}

/** Copies a typed array into a new wasm buffer. */
export function fromArray(data: TypedArray): WasmBuffer {
  const out = allocElements(data.length);
  const memory = wasmMemory();
  (data instanceof Float32Array ? memory.f32 : memory.i32).set(data, out.ptr >>> 2);
  return out;
}

export interface Collapsed {
  /** The output shape with size-1 dimensions dropped and mergeable neighbours merged; [] for a scalar. */
  shape: number[];
  /** Per operand, its element strides over `shape`. */
  strides: number[][];
}

/**
 * Merges dimensions that every operand walks as one (stride[i] == stride[i+1] * shape[i+1]),
 * after dropping size-1 dimensions. Elementwise kernels then see few, long dimensions.
 */
export function collapse(shape: readonly number[], operandStrides: ReadonlyArray<readonly number[]>): Collapsed {
  const keep = [...shape.keys()].filter((d) => shape[d] !== 1);
  const outShape: number[] = [];
  const strides: number[][] = operandStrides.map(() => []);
  for (const d of keep) {
    const n = shape[d]!;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && operandStrides.every((s, k) => strides[k]![last] === s[d]! * n);
    if (mergeable) {
      outShape[last] = outShape[last]! * n;
      operandStrides.forEach((s, k) => {
        strides[k]![last] = s[d]!;
      });
    } else {
      outShape.push(n);
      operandStrides.forEach((s, k) => {
        strides[k]!.push(s[d]!);
      });
    }
  }
  return { shape: outShape, strides };
}

/** Visits the offsets (in elements, per operand) of every index of `outer` dimensions. */
export function forEachOuter(outer: readonly number[], strides: ReadonlyArray<readonly number[]>, visit: (index: number, offsets: number[]) => void): void {
  const total = sizeOf(outer);
  const counter = new Array<number>(outer.length).fill(0);
  const offsets = strides.map(() => 0);
  for (let i = 0; i < total; i++) {
    visit(i, offsets);
    for (let d = outer.length - 1; d >= 0; d--) {
      counter[d]!++;
      strides.forEach((s, k) => {
        offsets[k]! += s[d]!;
      });
      if (counter[d]! < outer[d]!) break;
      strides.forEach((s, k) => {
        offsets[k]! -= s[d]! * outer[d]!;
      });
      counter[d] = 0;
    }
  }
}
