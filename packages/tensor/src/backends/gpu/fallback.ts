import type { KernelName, KernelTable, View } from '../../backend.ts';
import { dtypeOfArray, type TypedArray } from '../../dtype.ts';
import { ValueError } from '../../errors.ts';
import { jsBackend } from '../js/index.ts';
import { GpuBuffer } from './buffer.ts';
import { gpuContext } from './context.ts';
import { DeviceDecline } from './kernel-factory.ts';
import { countFallback } from './stats.ts';

type AnyKernel = (...args: unknown[]) => unknown;

function isGpuView(x: unknown): x is View<GpuBuffer> {
  return typeof x === 'object' && x !== null && (x as { handle?: unknown }).handle instanceof GpuBuffer;
}

/** The view over a host copy of its buffer; under webgpu the copy must already be on the host. */
function hostView(op: string, v: View<GpuBuffer>): View<TypedArray> {
  const data = v.handle.host(op);
  if (data instanceof Promise) {
    throw new ValueError('no webgpu kernel for these arguments, and the CPU fallback cannot wait for the device', {
      op,
      expected: 'inputs whose values are on the host (read them with readAsync first), or a sync gpu mode',
      given: `a ${v.handle.dtype} tensor of shape [${v.shape.join(', ')}] still on the device`,
    });
  }
  return { ...v, handle: data };
}

/**
 * Runs the js reference kernel on host copies of the inputs, and counts it: the one way an op
 * leaves the device. The result lives on the host until a device kernel needs it.
 */
export function runReference(op: KernelName, args: readonly unknown[]): GpuBuffer | undefined {
  countFallback(op);
  const hostArgs = args.map((a) => (isGpuView(a) ? hostView(op, a) : a));
  if (op === 'assign') {
    const dst = args[0] as View<GpuBuffer>;
    const target = hostView(op, dst).handle.slice();
    jsBackend.kernels.assign({ ...(hostArgs[0] as View<TypedArray>), handle: target }, hostArgs[1] as View<TypedArray>);
    dst.handle.setHost(target);
    return undefined;
  }
  const result = (jsBackend.kernels[op] as AnyKernel)(...hostArgs) as TypedArray;
  const out = new GpuBuffer(dtypeOfArray(result), result.length);
  out.setHost(result);
  return out;
}

/**
 * A kernel that runs on the device, falling back to the js reference (counted) when the device path
 * declines the arguments (too large, a shape it has no kernel for) or gpu.js fails to build it.
 */
export function withFallback<K extends KernelName>(op: K, device: KernelTable<GpuBuffer>[K]): KernelTable<GpuBuffer>[K] {
  const run = device as unknown as AnyKernel;
  const guarded = (...args: unknown[]): unknown => {
    if (gpuContext().info.async && indexBookkeeping(args)) return runReference(op, args);
    try {
      return run(...args);
    } catch (error) {
      if (error instanceof ValueError) throw error;
      lastErrors.set(op, `${error instanceof DeviceDecline ? 'declined' : 'failed'}: ${error instanceof Error ? error.message : String(error)}`);
      return runReference(op, args);
    }
  };
  return guarded as unknown as KernelTable<GpuBuffer>[K];
}

/** Largest int32 operation kept on the host under webgpu. */
const HOST_INT_MAX = 1 << 16;

/**
 * Under webgpu every device result is a Promise, but the engine reads some int32 tensors
 * synchronously (crossEntropy and oneHot check class ids on the host). Small int32 work whose
 * inputs are all on the host therefore stays there, counted like any other fallback.
 */
function indexBookkeeping(args: readonly unknown[]): boolean {
  const views = args.filter(isGpuView);
  return views.length > 0 && views.every((v) => v.dtype === 'int32' && v.handle.hasHost && v.handle.size <= HOST_INT_MAX);
}

/** Why each kernel last went to the CPU: arguments the device path declines, or a shader gpu.js could not build. */
export const lastErrors = new Map<string, string>();
