import type { Backend } from '../../backend.ts';
import type { DType, TypedArray } from '../../dtype.ts';
import { ValueError } from '../../errors.ts';
import { GpuBuffer, dropUploadKernels } from './buffer.ts';
import { dropGpuContext, gpuContext } from './context.ts';
import { dropKernelCache } from './kernel-factory.ts';
import { gpuKernels } from './kernels.ts';

function asDtype(data: TypedArray, dtype: DType): TypedArray {
  if (dtype === 'float32') return data instanceof Float32Array ? data.slice() : Float32Array.from(data);
  return data instanceof Int32Array ? data.slice() : Int32Array.from(data);
}

/**
 * The gpu.js backend: kernels are generated gpu.js source (snippets handed to a few factories,
 * see kernel-factory.ts), tensors stay on the device between ops as gpu.js pipeline textures
 * (buffers under webgpu), and come back to the host only when read. gpu.js picks the mode; see
 * gpuInfo() for what it chose. Kernels the device path declines run the js reference, counted in
 * gpuMemory().fallbacks.
 */
export const gpuBackend: Backend<GpuBuffer> = {
  name: 'gpu',
  allocate: (dtype, size) => {
    gpuContext();
    return new GpuBuffer(dtype, size);
  },
  write: (handle, data) => handle.setHost(data),
  read: (handle, dtype) => {
    const data = handle.host('read');
    if (data instanceof Promise) {
      throw new ValueError('webgpu results can only be read asynchronously', {
        op: 'read',
        expected: 'await readAsync(tensor) in webgpu mode',
        given: 'a synchronous read of a tensor still on the webgpu device',
      });
    }
    return asDtype(data, dtype);
  },
  dispose: (handle) => handle.free(),
  kernels: gpuKernels,
};

/** A tensor's elements in row-major order, waiting for the device when it must (webgpu); any backend's tensor. */
export async function readAsync(t: { handle: unknown; dtype: DType; shape: readonly number[]; strides: readonly number[]; offset: number; contiguous(): { handle: unknown; offset: number } }): Promise<TypedArray> {
  const c = t.contiguous();
  if (!(c.handle instanceof GpuBuffer)) return (t as unknown as { data(): TypedArray }).data();
  const data = asDtype(await c.handle.host('readAsync'), t.dtype);
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (c !== t) (c as unknown as { dispose(): void }).dispose();
  return c.offset === 0 && data.length === size ? data : data.slice(c.offset, c.offset + size);
}

/** Drops the gpu.js instance with its compiled kernels; the next use starts afresh (a new mode may be configured between). */
export function resetGpu(): void {
  dropKernelCache();
  dropUploadKernels();
  dropGpuContext();
}

export { GpuBuffer };
export { configureGpu, gpuInfo, isWebGpuAvailable, prepareGpu, type GpuInfo, type GpuMode, type GpuModeRequest } from './context.ts';
export { WebGpuUnavailableError, type WebGpuAdapter, type WebGpuProblem } from './node-webgpu.ts';
export { gpuMemory, resetGpuCounters, type GpuStats } from './stats.ts';
export { lastErrors as gpuFallbackErrors } from './fallback.ts';
