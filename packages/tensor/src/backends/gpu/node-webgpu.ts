import { ValueError } from '../../errors.ts';

/**
 * WebGPU in Node, through Dawn: the `webgpu` package that gpu.js itself depends on (so Glassbox
 * needs no dependency of its own). Node has no `navigator.gpu`, which gpu.js's webgpu mode looks
 * for; this puts Dawn's there. Dawn's prebuilt Linux binary needs a recent C and C++ runtime
 * (glibc 2.38, libstdc++ of GCC 13), and finds an adapter only through a Vulkan driver.
 */

/** Why WebGPU cannot run here: Dawn did not load, or no adapter answered, or there is no WebGPU at all. */
export type WebGpuProblem = 'dawn-not-loaded' | 'no-adapter' | 'no-webgpu';

/** webgpu was asked for and cannot run; `reason` says which step failed, the message says why. */
export class WebGpuUnavailableError extends ValueError {
  readonly reason: WebGpuProblem;
  constructor(reason: WebGpuProblem, given: string) {
    super('webgpu mode cannot run here', { op: 'gpu backend', arg: 'mode', expected: EXPECTED[reason], given });
    this.reason = reason;
  }
}

const EXPECTED: { [R in WebGpuProblem]: string } = {
  'dawn-not-loaded': "Dawn's prebuilt binary to load (Linux: glibc 2.38 and libstdc++ of GCC 13 or newer)",
  'no-adapter': 'a WebGPU adapter (in Node, Dawn finds one through a Vulkan driver: a GPU driver, or lavapipe in software)',
  'no-webgpu': 'navigator.gpu (a WebGPU browser) or Node, where Dawn provides it',
};

/** What the adapter says it is; `software` when it runs on the CPU (a fallback adapter, SwiftShader, lavapipe). */
export interface WebGpuAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** The adapter calls itself a fallback adapter. */
  readonly fallback: boolean;
  /** A fallback adapter, or a known CPU renderer by name: kernels then run on the CPU. */
  readonly software: boolean;
}

type Native = Record<string, unknown>;
interface GpuApi {
  requestAdapter(options?: unknown): Promise<Native | null>;
}
interface DawnModule {
  create(flags: string[]): GpuApi;
  globals: Record<string, unknown>;
}

/**
 * gpu.js assigns a function to `device.onuncapturederror`, which Dawn's Node binding refuses
 * ("invalid value to onuncapturederror"), failing every kernel. A plain accessor on the device keeps
 * the handler aside instead; Dawn prints uncaptured errors to stderr by itself.
 */
export function acceptErrorHandler<D extends object>(device: D): D {
  let handler: unknown = null;
  Object.defineProperty(device, 'onuncapturederror', { configurable: true, enumerable: true, get: () => handler, set: (fn: unknown) => (handler = fn) });
  return device;
}

/** Every device from `api` gets the accessor above, and a missing adapter is an error that says why rather than null. */
export function patchGpuApi<A extends GpuApi>(api: A, noAdapter: () => Error): A {
  const requestAdapter = api.requestAdapter.bind(api);
  const patched = async (options?: unknown) => {
    const adapter = await requestAdapter(options);
    if (!adapter) throw noAdapter();
    const requestDevice = (adapter.requestDevice as (descriptor?: unknown) => Promise<object>).bind(adapter);
    Object.defineProperty(adapter, 'requestDevice', { configurable: true, value: async (descriptor?: unknown) => acceptErrorHandler(await requestDevice(descriptor)) });
    return adapter;
  };
  Object.defineProperty(api, 'requestAdapter', { configurable: true, value: patched });
  return api;
}

function builtin<T>(id: string): T | null {
  const proc = typeof process !== 'undefined' ? (process as unknown as { getBuiltinModule?: (id: string) => unknown }) : undefined;
  return (proc?.getBuiltinModule?.(id) as T | undefined) ?? null;
}

/** Whether this is Node (or a runtime with its builtins), where Dawn can stand in for navigator.gpu. */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** The first line of a load failure, with a plain reading of the usual one (a C/C++ runtime too old). */
function explainLoadFailure(cause: unknown): string {
  const message = String(cause instanceof Error ? cause.message : cause).split('\n')[0]!;
  const symbol = /version `(GLIBC(?:XX)?_[\d.]+)' not found/.exec(message)?.[1];
  return symbol ? `this system's ${symbol.startsWith('GLIBCXX') ? 'libstdc++' : 'glibc'} is older than Dawn's prebuilt binary needs (${symbol} missing): ${message}` : message;
}

interface NodeRequire {
  (id: string): unknown;
  resolve(id: string): string;
}

/**
 * Dawn's native module, loaded synchronously: from GLASSBOX_WEBGPU_MODULE (the `webgpu` package's
 * index.js, for a bundled copy of Glassbox) or else the copy gpu.js resolves, `webgpu` being its
 * dependency. The package's index.js is an ES module that only requires this binary; requiring it
 * here keeps setup synchronous.
 */
export function loadDawn(): DawnModule {
  const mod = builtin<{ createRequire(from: string): NodeRequire }>('node:module');
  const path = builtin<{ dirname(p: string): string; join(...p: string[]): string }>('node:path');
  if (!mod || !path) throw new Error('process.getBuiltinModule is missing (Node 20.16 or newer has it)');
  const require = mod.createRequire(import.meta.url);
  const index = process.env.GLASSBOX_WEBGPU_MODULE || mod.createRequire(require.resolve('gpu.js')).resolve('webgpu');
  return require(path.join(path.dirname(index), 'dist', `${process.platform}-${process.arch}.dawn.node`)) as DawnModule;
}

let installed: GpuApi | null = null;

/**
 * Puts Dawn's `navigator.gpu` (and its GPUBufferUsage-style globals) where gpu.js looks, with the
 * fixes above; idempotent. Throws WebGpuUnavailableError when Dawn does not load.
 */
export function installNodeWebGpu(load: () => DawnModule = loadDawn): GpuApi {
  if (installed) return installed;
  let api: GpuApi;
  let globals: Record<string, unknown>;
  try {
    const dawn = load();
    globals = dawn.globals;
    api = dawn.create([]);
  } catch (cause) {
    throw new WebGpuUnavailableError('dawn-not-loaded', `'webgpu', but Dawn (the \`webgpu\` package) did not load: ${explainLoadFailure(cause)}`);
  }
  patchGpuApi(api, () => new WebGpuUnavailableError('no-adapter', "'webgpu', but Dawn loaded and found no WebGPU adapter: no Vulkan driver (a Vulkan loader and ICD) answered"));
  const scope = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) if (!(name in scope)) scope[name] = value;
  const current = scope.navigator as object | undefined;
  // Node 21+ has a navigator of its own; add gpu to it where it lets us, else stand one in.
  if (current && Object.isExtensible(current)) Object.defineProperty(current, 'gpu', { configurable: true, value: api });
  else Object.defineProperty(globalThis, 'navigator', { configurable: true, writable: true, value: { gpu: api, hardwareConcurrency: builtin<{ availableParallelism(): number }>('node:os')?.availableParallelism() ?? 1 } });
  installed = api;
  return api;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software/i;

/**
 * Asks navigator.gpu (native, or Dawn's) for an adapter and says what it is; throws
 * WebGpuUnavailableError when there is none.
 */
export async function probeAdapter(): Promise<WebGpuAdapter> {
  const api = (globalThis as { navigator?: { gpu?: GpuApi } }).navigator?.gpu;
  if (!api) throw new WebGpuUnavailableError('no-webgpu', "'webgpu', but there is no navigator.gpu here");
  // Dawn's patched API throws its own reason; a browser's resolves null.
  const found = await api.requestAdapter();
  if (!found) throw new WebGpuUnavailableError('no-adapter', "'webgpu', but navigator.gpu.requestAdapter() found no adapter (a headless browser, or WebGPU disabled)");
  const info = (found.info ?? {}) as Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & { isFallbackAdapter?: boolean };
  const { vendor = '', architecture = '', device = '', description = '' } = info;
  const fallback = Boolean(info.isFallbackAdapter ?? found.isFallbackAdapter);
  return { vendor, architecture, device, description, fallback, software: fallback || SOFTWARE.test(`${vendor} ${architecture} ${device} ${description}`) };
}
