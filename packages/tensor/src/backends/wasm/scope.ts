import { hasWasmMemory, WasmBuffer, wasmMemory } from './memory.ts';
import { reachableHandles } from '../reachable-handles.ts';

const isWasmBuffer = (handle: unknown): handle is WasmBuffer => handle instanceof WasmBuffer;

/**
 * The wasm half of the frontend tidy() (src/scope.ts), which nests it with the gpu one.
 * Runs `fn` and then frees, at once, the WebAssembly memory of every tensor it created, except
 * the tensors reachable from its result (tensors, arrays, plain objects) and those passed to
 * keep(). Optional: without it, memory stays bounded by spilling (see WasmMemory), but a loop
 * step wrapped in tidy() reuses the same blocks and never copies.
 * Tensors created inside and stored elsewhere must be kept, or they are freed with the rest;
 * using a freed tensor throws.
 */
export function tidy<T>(fn: () => T): T {
  const memory = wasmMemory();
  const scope = memory.openScope();
  let result: T | undefined;
  try {
    result = fn();
    if (result instanceof Promise) throw new TypeError('tidy() takes a synchronous function');
  } finally {
    const survivors = reachableHandles(result, isWasmBuffer, new Set<WasmBuffer>());
    memory.closeScope(scope, survivors);
  }
  return result;
}

/** Exempts a tensor's memory from every enclosing tidy(); it is then freed by dispose() or by the garbage collector. */
export function keep<T extends { handle: unknown }>(tensor: T): T {
  if (tensor.handle instanceof WasmBuffer) tensor.handle.kept = true;
  return tensor;
}

/** Bytes and blocks in the wasm allocator: what leak checks compare before and after. */
export function wasmMemoryStats(): ReturnType<ReturnType<typeof wasmMemory>['stats']> | null {
  return hasWasmMemory() ? wasmMemory().stats() : null;
}
