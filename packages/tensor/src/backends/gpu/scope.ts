import { GpuBuffer, setScopeHooks } from './buffer.ts';
import { reachableHandles } from '../reachable-handles.ts';

const isGpuBuffer = (handle: unknown): handle is GpuBuffer => handle instanceof GpuBuffer;

const scopes: GpuBuffer[][] = [];

setScopeHooks({
  onCreate(buffer) {
    scopes[scopes.length - 1]?.push(buffer);
  },
});

/**
 * The gpu half of the frontend tidy() (src/scope.ts), which nests it with the wasm one. Runs `fn`,
 * then frees every gpu buffer created inside except those reachable from its result (tensors,
 * arrays, Maps, Sets, plain objects, a tensor's .grad) and those passed to keep(). Survivors move to the enclosing scope. Tensors created inside
 * and stored elsewhere (a model's parameters, an optimizer's state) must be kept, or they are freed;
 * using a freed tensor throws.
 */
export function tidy<T>(fn: () => T): T {
  const created: GpuBuffer[] = [];
  scopes.push(created);
  let result: T | undefined;
  try {
    result = fn();
    if (result instanceof Promise) throw new TypeError('tidy() takes a synchronous function');
  } finally {
    scopes.pop();
    const survivors = reachableHandles(result, isGpuBuffer, new Set<GpuBuffer>());
    const outer = scopes[scopes.length - 1];
    for (const buffer of created) {
      if (buffer.freed) continue;
      if (buffer.kept) continue;
      if (survivors.has(buffer)) outer?.push(buffer);
      else buffer.free();
    }
  }
  return result;
}

/** Exempts a tensor's device memory from every enclosing tidy(); dispose() or the garbage collector frees it. */
export function keep<T extends { handle: unknown }>(tensor: T): T {
  if (tensor.handle instanceof GpuBuffer) tensor.handle.kept = true;
  return tensor;
}
