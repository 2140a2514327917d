/**
 * Adds to `found` every handle of type H reachable from `value` through tensors (and their .grad),
 * arrays, Maps, Sets and plain objects: what a scope must not free because its result holds it.
 */
export function reachableHandles<H>(value: unknown, isHandle: (handle: unknown) => handle is H, found: Set<H>, seen = new Set<object>()): Set<H> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return found;
  seen.add(value);
  const v = value as { handle?: unknown; grad?: unknown };
  if (isHandle(v.handle)) {
    found.add(v.handle);
    reachableHandles(v.grad, isHandle, found, seen);
    return found;
  }
  if (Array.isArray(value) || value instanceof Set) for (const item of value) reachableHandles(item, isHandle, found, seen);
  else if (value instanceof Map) for (const item of value.values()) reachableHandles(item, isHandle, found, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const item of Object.values(value)) reachableHandles(item, isHandle, found, seen);
  return found;
}
