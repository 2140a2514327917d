import * as gpujs from 'gpu.js';
import { ValueError } from '../../errors.ts';
import { type WebGpuAdapter, installNodeWebGpu, isNode, probeAdapter } from './node-webgpu.ts';

/**
 * The gpu.js mode that actually runs the kernels. Only webgpu, webgl2, webgl and headlessgl run on
 * a GPU; webasm (gpu.js's own WebAssembly kernels) and cpu (its transpiled JavaScript) are CPU
 * fallbacks that gpu.js picks by itself where no GPU context exists, as in Node without `gl`.
 */
export type GpuMode = 'webgpu' | 'webgl2' | 'webgl' | 'headlessgl' | 'webasm' | 'cpu';

/** A mode to ask for: one of the above, or 'auto' for gpu.js's own choice (never webgpu). */
export type GpuModeRequest = GpuMode | 'auto';

export interface GpuInfo {
  /** What gpu.js chose. */
  readonly mode: GpuMode;
  /** 'gpu' when kernels run on a graphics device, 'cpu-fallback' when gpu.js runs them on the CPU. */
  readonly device: 'gpu' | 'cpu-fallback';
  /** webgpu kernels return Promises: reads must go through readAsync. */
  readonly async: boolean;
  /** The GL renderer string or WebGPU adapter, when the platform tells it. */
  readonly renderer: string | null;
  /** webgpu only: the adapter, once `prepareGpu()` has found it; null before and in other modes. */
  readonly adapter: WebGpuAdapter | null;
  /** One plain sentence on what this means. */
  readonly note: string;
}

/** The slice of a gpu.js kernel run shortcut that the backend uses. */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  /** The kernel instance that runs now; gpu.js swaps in a CPU kernel when it degrades. */
  readonly kernel: object;
}

interface GpuJsInstance {
  readonly Kernel: unknown;
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): unknown;
}

interface GpuJsModule {
  GPU: (new (settings: Record<string, unknown>) => GpuJsInstance) & { isWebGPUAvailable(): Promise<boolean> };
  CPUKernel: unknown;
  HeadlessGLKernel: unknown;
  WebGL2Kernel: unknown;
  WebGLKernel: unknown;
  WebGPUKernel: unknown;
  WebAssemblyKernel: unknown;
}

// gpu.js is CommonJS in Node and a UMD bundle in browsers; either way its classes hang off one object.
const lib = ((gpujs as unknown as { default?: GpuJsModule }).default ?? gpujs) as unknown as GpuJsModule;

const MODES: readonly GpuModeRequest[] = ['auto', 'webgpu', 'webgl2', 'webgl', 'headlessgl', 'webasm', 'cpu'];

function modeOfKernelClass(k: unknown): GpuMode {
  if (k === lib.WebGPUKernel) return 'webgpu';
  if (k === lib.WebGL2Kernel) return 'webgl2';
  if (k === lib.HeadlessGLKernel) return 'headlessgl';
  if (k === lib.WebGLKernel) return 'webgl';
  if (k === lib.WebAssemblyKernel) return 'webasm';
  return 'cpu';
}

function glRenderer(): string | null {
  if (typeof document === 'undefined') return null;
  try {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  } catch {
    return null;
  }
}

const NOTES: { [M in GpuMode]: string } = {
  webgpu: 'WGSL compute shaders on a WebGPU adapter; every kernel is asynchronous.',
  webgl2: 'GLSL ES 3.00 fragment shaders over float32 textures.',
  webgl: 'GLSL ES 1.00 fragment shaders over float32 textures.',
  headlessgl: 'GLSL ES 1.00 through the native `gl` package (headless-gl).',
  webasm: 'No GPU context here: gpu.js runs the kernels as WebAssembly on the CPU.',
  cpu: 'No GPU context here: gpu.js runs the kernels as plain JavaScript on the CPU.',
};

export interface GpuContext {
  readonly gpu: GpuJsInstance;
  readonly info: GpuInfo;
  /** Whether a kernel instance is gpu.js's CPU kernel (what it swaps in when it degrades). */
  isCpuKernel(kernel: object): boolean;
}

let context: GpuContext | undefined;
let requested: GpuModeRequest | undefined;

function readRequest(): GpuModeRequest {
  if (requested) return requested;
  const fromEnv = typeof process !== 'undefined' ? process.env?.GLASSBOX_GPU_MODE : undefined;
  if (!fromEnv) return 'auto';
  if (!(MODES as readonly string[]).includes(fromEnv)) {
    throw new ValueError('unknown gpu mode', { op: 'gpu backend', arg: 'GLASSBOX_GPU_MODE', expected: `one of ${MODES.join(', ')}`, given: JSON.stringify(fromEnv) });
  }
  return fromEnv as GpuModeRequest;
}

function hasNavigatorGpu(): boolean {
  return Boolean((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu);
}

/** What the info says of a webgpu adapter: a software one runs on the CPU, and says so. */
function withAdapter(info: GpuInfo, adapter: WebGpuAdapter): GpuInfo {
  const name = adapter.device || adapter.description || adapter.vendor || 'unnamed adapter';
  return {
    ...info,
    adapter,
    renderer: adapter.description && adapter.description !== name ? `${name} (${adapter.description})` : name,
    device: adapter.software ? 'cpu-fallback' : 'gpu',
    note: adapter.software ? `${NOTES.webgpu} The adapter is a software renderer (${adapter.fallback ? 'a fallback adapter' : name}): it runs on the CPU.` : NOTES.webgpu,
  };
}

/** The gpu.js instance, created on first use in the requested mode. */
export function gpuContext(): GpuContext {
  if (context) return context;
  const request = readRequest();
  // Node has no navigator.gpu: Dawn stands in, or the error says why it cannot.
  if (request === 'webgpu' && !hasNavigatorGpu() && isNode()) installNodeWebGpu();
  let gpu: GpuJsInstance;
  try {
    gpu = new lib.GPU(request === 'auto' ? {} : { mode: request });
  } catch (cause) {
    throw new ValueError('gpu mode not available here', {
      op: 'gpu backend',
      arg: 'mode',
      expected: "a mode this platform supports, or 'auto'",
      given: `${JSON.stringify(request)} (${cause instanceof Error ? cause.message : String(cause)})`,
    });
  }
  const mode = modeOfKernelClass(gpu.Kernel);
  const onDevice = mode !== 'webasm' && mode !== 'cpu';
  context = {
    gpu,
    info: {
      mode,
      device: onDevice ? 'gpu' : 'cpu-fallback',
      async: mode === 'webgpu',
      renderer: mode === 'webgl2' || mode === 'webgl' ? glRenderer() : null,
      adapter: null,
      note: mode === 'webgpu' ? `${NOTES.webgpu} The adapter is not probed yet: await prepareGpu() to find and name it.` : NOTES[mode],
    },
    isCpuKernel: (kernel) => kernel.constructor === lib.CPUKernel,
  };
  return context;
}

/**
 * Chooses the gpu.js mode before the backend's first use (GLASSBOX_GPU_MODE does the same from the
 * environment). webgpu must be asked for: its kernels are asynchronous, so tensors are then read
 * with `readAsync`; in Node Dawn provides it (see node-webgpu.ts), and `prepareGpu()` also checks
 * that an adapter answers. Changing the mode later needs `resetGpu()` first.
 */
export function configureGpu(options: { mode: GpuModeRequest }): GpuInfo {
  if (!MODES.includes(options.mode)) {
    throw new ValueError('unknown gpu mode', { op: 'configureGpu', arg: 'mode', expected: `one of ${MODES.join(', ')}`, given: JSON.stringify(options.mode) });
  }
  if (context && options.mode !== 'auto' && options.mode !== context.info.mode) {
    throw new ValueError('the gpu backend is already running in another mode', {
      op: 'configureGpu',
      arg: 'mode',
      expected: `${context.info.mode}, or resetGpu() first`,
      given: options.mode,
    });
  }
  const before = requested;
  requested = options.mode;
  try {
    return gpuContext().info;
  } catch (error) {
    requested = before; // a mode that cannot run leaves the backend as it was
    throw error;
  }
}

/**
 * configureGpu, and under webgpu first finds the adapter (in Node through Dawn), so that a missing
 * one is an error now rather than a failed kernel later. Resolves with gpuInfo(), its `adapter`
 * filled in; rejects with WebGpuUnavailableError saying why not, leaving the backend unconfigured
 * (another mode can still be chosen). Without `options` it prepares the mode already requested.
 */
export async function prepareGpu(options?: { mode: GpuModeRequest }): Promise<GpuInfo> {
  const mode = options?.mode ?? context?.info.mode ?? readRequest();
  if (mode !== 'webgpu') return options ? configureGpu({ mode }) : gpuContext().info;
  if (context && context.info.mode !== 'webgpu') configureGpu({ mode }); // throws: already in another mode
  if (!hasNavigatorGpu() && isNode()) installNodeWebGpu();
  const adapter = await probeAdapter();
  const info = withAdapter(configureGpu({ mode }), adapter);
  if (context) context = { ...context, info };
  return info;
}

/** Forgets the gpu.js instance (its kernels and textures go with it); the next use creates a new one. */
export function dropGpuContext(): void {
  context?.gpu.destroy();
  context = undefined;
  requested = undefined;
}

/** What gpu.js chose, without running anything else: the mode, whether it is a GPU at all, and why. */
export function gpuInfo(): GpuInfo {
  return gpuContext().info;
}

/** Whether a WebGPU adapter answers here (an async probe; `navigator.gpu` alone does not prove it). */
export function isWebGpuAvailable(): Promise<boolean> {
  return lib.GPU.isWebGPUAvailable();
}
