import { hasWasmMemory, WasmBuffer, wasmMemory } from './memory.ts';

/** Handles reachable from a value through tensors (and their .grad), arrays, Maps, Sets and plain objects. */
function reachableBuffers(value: unknown, found: Set<WasmBuffer>, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const v = value as { handle?: unknown; grad?: unknown };
  if (v.handle instanceof WasmBuffer) {
    found.add(v.handle);
    reachableBuffers(v.grad, found, seen);
    return;
  }
  if (Array.isArray(value) || value instanceof Set) for (const item of value) reachableBuffers(item, found, seen);
  else if (value instanceof Map) for (const item of value.values()) reachableBuffers(item, found, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const item of Object.values(value)) reachableBuffers(item, found, seen);
}

/**
 * Runs `fn` and then frees, at once, the WebAssembly memory of every tensor it created, except
 * the tensors reachable from its result (tensors, arrays, plain objects) and those passed to
 * keep(). Optional: without it, memory stays bounded by spilling (see WasmMemory), but a loop
 * step wrapped in tidy() reuses the same blocks and never copies. A no-op on the js backend.
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
    const survivors = new Set<WasmBuffer>();
    reachableBuffers(result, survivors, new Set());
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
