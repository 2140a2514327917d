import { getBackend } from './backends/index.ts';
import { keep as keepGpu, tidy as tidyGpu } from './backends/gpu/scope.ts';
import { hasWasmMemory } from './backends/wasm/memory.ts';
import { keep as keepWasm, tidy as tidyWasm } from './backends/wasm/scope.ts';

/**
 * Runs `fn` and then frees, at once, the device memory (wasm and gpu) of every tensor it created,
 * except the tensors reachable from its result (tensors and their .grad, arrays, Maps, Sets, plain
 * objects) and those passed to keep(). Survivors move to the enclosing tidy(); if `fn` throws, its
 * tensors are freed and the error passes through. On the js backend there is nothing to free (the
 * garbage collector frees typed arrays). Tensors created inside and stored elsewhere (a model's
 * parameters, an optimizer's state, a cache) must be kept, or they are freed; using a freed tensor
 * throws. Wrap a training step in it so each step reuses the memory the last one freed.
 */
export function tidy<T>(fn: () => T): T {
  // Each backend's scope nests inside the other: both close, innermost first, whether fn returns or throws.
  const gpuScoped = () => tidyGpu(fn);
  // No wasm memory yet and not on wasm: do not create 16 MiB of it just to open an empty scope. (Were
  // the first wasm tensors made inside fn by an explicit backend option, spilling still bounds them.)
  return hasWasmMemory() || getBackend().name === 'wasm' ? tidyWasm(gpuScoped) : gpuScoped();
}

/** Exempts a tensor's memory from every enclosing tidy(), on whichever backend holds it; dispose() or the garbage collector frees it. */
export function keep<T extends { handle: unknown }>(tensor: T): T {
  return keepGpu(keepWasm(tensor));
}
