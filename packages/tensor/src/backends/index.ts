import type { Backend } from '../backend.ts';
import { ValueError, nearestNames } from '../errors.ts';
import { gpuBackend } from './gpu/index.ts';
import { jsBackend } from './js/index.ts';
import { hasWasmSimd, wasmBackend } from './wasm/index.ts';

/** Every backend Glassbox knows, by name. Listed here explicitly: nothing registers itself by import. */
const backends: Record<string, Backend<unknown>> = { js: jsBackend as Backend<unknown>, ...(hasWasmSimd() ? { wasm: wasmBackend as Backend<unknown> } : {}), gpu: gpuBackend as Backend<unknown> };

export type BackendName = keyof typeof backends;

let current: Backend<unknown> | undefined;

export function availableBackends(): string[] {
  return Object.keys(backends);
}

function lookup(name: string, source: string): Backend<unknown> {
  const backend = backends[name];
  if (!backend) {
    throw new ValueError('unknown backend', {
      op: 'setBackend',
      arg: source,
      expected: `one of ${availableBackends().join(', ')}`,
      given: JSON.stringify(name),
      suggestions: nearestNames(name, availableBackends()),
    });
  }
  return backend;
}

/** The backend new tensors are created on: GLASSBOX_BACKEND if set, else wasm where WebAssembly SIMD validates, else js. */
export function getBackend(): Backend<unknown> {
  if (!current) {
    const fromEnv = typeof process !== 'undefined' ? process.env.GLASSBOX_BACKEND : undefined;
    current = fromEnv ? lookup(fromEnv, 'GLASSBOX_BACKEND') : (backends.wasm ?? (jsBackend as Backend<unknown>));
  }
  return current;
}

export function setBackend(name: string): void {
  current = lookup(name, 'name');
}
