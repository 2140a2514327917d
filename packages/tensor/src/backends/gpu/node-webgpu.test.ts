import { afterEach, describe, expect, it, vi } from 'vitest';
import { getBackend, matmul, setBackend, tensor } from '../../index.ts';
import { configureGpu, gpuInfo, prepareGpu, readAsync, resetGpu } from './index.ts';
import { WebGpuUnavailableError, acceptErrorHandler, installNodeWebGpu, loadDawn, patchGpuApi } from './node-webgpu.ts';

/** Like Dawn's Node binding: the device refuses a function for onuncapturederror. */
class RefusingDevice {
  readonly label = 'fake device';
  get onuncapturederror(): unknown {
    return null;
  }
  set onuncapturederror(_fn: unknown) {
    throw new TypeError('invalid value to onuncapturederror');
  }
}

function fakeApi(adapter: Record<string, unknown> | null) {
  return { requestAdapter: async () => adapter };
}

const lavapipe = () => ({
  info: { vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'Mesa 23.2.1' },
  requestDevice: async () => new RefusingDevice(),
});

/** Whether Dawn's binary loads on this machine, and if not, the first line of why. */
function dawnHere(): { loads: true } | { loads: false; why: string } {
  try {
    loadDawn();
    return { loads: true };
  } catch (cause) {
    return { loads: false, why: String(cause instanceof Error ? cause.message : cause).split('\n')[0]! };
  }
}

describe('the onuncapturederror accessor', () => {
  it('lets a handler be assigned to a device whose setter throws, and reads it back', () => {
    const device = new RefusingDevice();
    const handler = () => {};
    expect(() => {
      device.onuncapturederror = handler;
    }).toThrow(/invalid value to onuncapturederror/);
    expect(acceptErrorHandler(device)).toBe(device);
    device.onuncapturederror = handler;
    expect(device.onuncapturederror).toBe(handler);
    expect(device.label).toBe('fake device');
    expect(new RefusingDevice().onuncapturederror).toBeNull(); // the class itself is untouched
  });

  it('is applied to every device a patched API hands out, the way gpu.js asks for one', async () => {
    const api = patchGpuApi(fakeApi(lavapipe()), () => new Error('unused'));
    const adapter = (await api.requestAdapter()) as { requestDevice(d?: unknown): Promise<RefusingDevice> };
    const device = await adapter.requestDevice({ requiredLimits: {} });
    const handler = () => {};
    device.onuncapturederror = handler;
    expect(device.onuncapturederror).toBe(handler);
  });

  it('turns a missing adapter into the error it is given instead of null', async () => {
    const api = patchGpuApi(fakeApi(null), () => new WebGpuUnavailableError('no-adapter', 'no Vulkan driver'));
    await expect(api.requestAdapter()).rejects.toMatchObject({ name: 'WebGpuUnavailableError', reason: 'no-adapter' });
  });
});

describe('loading Dawn', () => {
  it('names an old glibc or libstdc++ when the binary does not load', () => {
    const failWith = (message: string) => () => {
      throw new Error(message);
    };
    const glibc = "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by linux-x64.dawn.node)";
    expect(() => installNodeWebGpu(failWith(glibc))).toThrow(WebGpuUnavailableError);
    expect(() => installNodeWebGpu(failWith(glibc))).toThrow(/glibc is older than Dawn's prebuilt binary needs \(GLIBC_2\.38 missing\)/);
    const cxx = "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found";
    expect(() => installNodeWebGpu(failWith(cxx))).toThrow(/libstdc\+\+ is older .*GLIBCXX_3\.4\.32/);
    try {
      installNodeWebGpu(failWith('cannot open shared object file'));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WebGpuUnavailableError);
      expect((error as WebGpuUnavailableError).reason).toBe('dawn-not-loaded');
      expect((error as Error).message).toContain('cannot open shared object file');
    }
  });

  it('installs navigator.gpu from a loaded Dawn, and probes its adapter', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    vi.resetModules(); // a fresh module: nothing installed yet
    const fresh = await import('./node-webgpu.ts');
    try {
      const api = fresh.installNodeWebGpu(() => ({ create: () => fakeApi(lavapipe()), globals: { GPUFakeUsage: { STORAGE: 128 } } }));
      expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBe(api);
      expect((globalThis as Record<string, unknown>).GPUFakeUsage).toEqual({ STORAGE: 128 });
      const adapter = await fresh.probeAdapter();
      expect(adapter).toMatchObject({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', fallback: false, software: true });
      const device = await ((await api.requestAdapter()) as { requestDevice(): Promise<RefusingDevice> }).requestDevice();
      expect(() => {
        device.onuncapturederror = () => {};
      }).not.toThrow();
    } finally {
      delete (globalThis as Record<string, unknown>).GPUFakeUsage;
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete (globalThis as Record<string, unknown>).navigator;
      vi.resetModules();
    }
  });
});

describe('webgpu mode in Node', () => {
  const previous = getBackend().name;
  afterEach(() => {
    delete process.env.GLASSBOX_GPU_MODE;
    resetGpu();
    setBackend(previous);
  });

  it("'auto' does not load Dawn or choose webgpu", () => {
    resetGpu();
    expect(configureGpu({ mode: 'auto' }).mode).not.toBe('webgpu');
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });

  it('either runs on an adapter, or says why not with a typed error and stays usable in another mode', async () => {
    resetGpu();
    const dawn = dawnHere();
    let problem: WebGpuUnavailableError | null = null;
    try {
      const info = await prepareGpu({ mode: 'webgpu' });
      expect(info.mode).toBe('webgpu');
      expect(info.adapter).not.toBeNull();
      expect(info.renderer).toBeTruthy();
      expect(info.device).toBe(info.adapter!.software ? 'cpu-fallback' : 'gpu');
      expect(gpuInfo().adapter).toEqual(info.adapter);
      setBackend('gpu');
      const y = matmul(tensor([1, 2, 3, 4], { shape: [2, 2] }), tensor([5, 6, 7, 8], { shape: [2, 2] }));
      expect(Array.from(await readAsync(y))).toEqual([19, 22, 43, 50]);
    } catch (error) {
      if (!(error instanceof WebGpuUnavailableError)) throw error;
      problem = error;
    }
    if (problem) {
      // Never a silent switch to another mode: the reason is named.
      if (!dawn.loads) {
        expect(problem.reason).toBe('dawn-not-loaded');
        expect(problem.message).toContain(dawn.why);
        // The sync request fails the same way.
        expect(() => configureGpu({ mode: 'webgpu' })).toThrow(WebGpuUnavailableError);
      } else {
        expect(problem.reason).toBe('no-adapter');
        expect(problem.message).toMatch(/Vulkan/);
      }
      const info = configureGpu({ mode: 'cpu' });
      expect(info.mode).toBe('cpu');
      setBackend('gpu');
      expect(Array.from(matmul(tensor([1, 2, 3, 4], { shape: [2, 2] }), tensor([5, 6, 7, 8], { shape: [2, 2] })).data())).toEqual([19, 22, 43, 50]);
    }
  });

  it('GLASSBOX_GPU_MODE=webgpu fails on first use with the same reason where Dawn does not load', () => {
    const dawn = dawnHere();
    if (dawn.loads) return; // covered above; here Dawn would start a real device
    resetGpu();
    process.env.GLASSBOX_GPU_MODE = 'webgpu';
    setBackend('gpu');
    expect(() => tensor([1, 2, 3])).toThrow(WebGpuUnavailableError);
    expect(() => gpuInfo()).toThrow(/Dawn \(the `webgpu` package\) did not load/);
    delete process.env.GLASSBOX_GPU_MODE;
    expect(gpuInfo().mode).not.toBe('webgpu');
  });
});
