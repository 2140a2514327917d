import type { KernelName, KernelTable } from '../../backend.ts';
import { jsBackend } from '../js/index.ts';
import { WasmBuffer } from './memory.ts';
import { asJsView, fromArray, type WasmView } from './views.ts';

function isWasmView(value: unknown): value is WasmView {
  return typeof value === 'object' && value !== null && (value as { handle?: unknown }).handle instanceof WasmBuffer;
}

/**
 * The js backend's kernel run in place on typed-array views of wasm memory, its result copied
 * into a new wasm buffer: how the wasm backend covers kernels that have no generated code.
 */
export function reference<K extends KernelName>(name: K): KernelTable<WasmBuffer>[K] {
  const js = jsBackend.kernels[name] as (...args: unknown[]) => unknown;
  return ((...args: unknown[]) => {
    const out = js(...args.map((a) => (isWasmView(a) ? asJsView(a) : a)));
    return out instanceof Float32Array || out instanceof Int32Array ? fromArray(out) : undefined;
  }) as unknown as KernelTable<WasmBuffer>[K];
}
