import { allocArray, type DType, dtypeOfArray, type TypedArray } from '../../dtype.ts';
import { ValueError } from '../../errors.ts';
import { type GpuJsKernel, gpuContext } from './context.ts';
import { gpuStats } from './stats.ts';

/**
 * What gpu.js hands back for a pipelined kernel: a GL texture, a WebGPU buffer (both with
 * delete() and toArray()), or, in the CPU modes, a Float32Array. Values are always float32 on the
 * device; int32 tensors are stored as exact floats (integers up to 2^24).
 */
export type DeviceValue = { delete(): void; toArray(): unknown } | Float32Array;

/** A value now, or (webgpu) once the device has it. */
export type Maybe<T> = T | Promise<T>;

export function andThen<T, U>(x: Maybe<T>, f: (value: T) => Maybe<U>): Maybe<U> {
  return x instanceof Promise ? x.then(f) : f(x);
}

export function allOf<T>(xs: readonly Maybe<T>[]): Maybe<T[]> {
  return xs.some((x) => x instanceof Promise) ? Promise.all(xs) : (xs as T[]);
}

/** Scope bookkeeping lives in scope.ts; a buffer only records which scope made it. */
export interface ScopeHooks {
  onCreate(buffer: GpuBuffer): void;
}

let scopeHooks: ScopeHooks | null = null;
export function setScopeHooks(hooks: ScopeHooks | null): void {
  scopeHooks = hooks;
}

/** Frees a buffer's device value once nothing pending still reads it. */
const finalizer =
  typeof FinalizationRegistry === 'undefined'
    ? null
    : new FinalizationRegistry<Holder>((held) => {
        gpuStats.liveBuffers--;
        gpuStats.liveBytes -= held.bytes;
        if (held.value !== null) andThen(allOf<unknown>([held.value, ...held.readers]), (vs) => deleteValue(vs[0] as DeviceValue));
      });

/** What the finalizer frees for a buffer the program dropped without dispose(). */
interface Holder {
  value: Maybe<DeviceValue> | null;
  readonly bytes: number;
  /** Kernels scheduled (webgpu) that read the buffer; a write or free waits for them. */
  readonly readers: Promise<unknown>[];
}

function deleteValue(value: DeviceValue): void {
  if (!(value instanceof Float32Array)) value.delete();
}

/**
 * One tensor buffer of the gpu backend. It holds a device value (pending under webgpu), a host copy
 * when one is known to be current (data written from the host, or read back once), or both.
 */
export class GpuBuffer {
  readonly dtype: DType;
  readonly size: number;
  #device: Maybe<DeviceValue> | null = null;
  readonly #holder: Holder;
  #host: TypedArray | null = null;
  #freed = false;
  /** Exempt from tidy(). */
  kept = false;

  constructor(dtype: DType, size: number) {
    this.dtype = dtype;
    this.size = size;
    gpuStats.liveBuffers++;
    gpuStats.liveBytes += this.bytes;
    gpuStats.peakBytes = Math.max(gpuStats.peakBytes, gpuStats.liveBytes);
    this.#holder = { value: null, bytes: this.bytes, readers: [] };
    finalizer?.register(this, this.#holder, this);
    scopeHooks?.onCreate(this);
  }

  get bytes(): number {
    return this.size * 4;
  }
  get freed(): boolean {
    return this.#freed;
  }
  get hasHost(): boolean {
    return this.#host !== null;
  }

  #check(op: string): void {
    if (this.#freed) {
      throw new ValueError('tensor used after its device memory was freed', {
        op,
        expected: 'a live tensor (keep() it, or return it from tidy())',
        given: `a disposed gpu buffer of ${this.size} ${this.dtype}`,
      });
    }
  }

  /** The device value, uploading the host copy first if that is all there is. */
  device(op: string): Maybe<DeviceValue> {
    this.#check(op);
    if (this.#device === null) {
      const host = this.#host ?? allocArray(this.dtype, this.size);
      this.#track(upload(host));
    }
    return this.#device!;
  }

  /** The host copy, reading the device value back if needed (a Promise under webgpu). */
  host(op: string): Maybe<TypedArray> {
    this.#check(op);
    if (this.#host) return this.#host;
    const current = this.device(op);
    return andThen(current, (v) => {
      if (v instanceof Float32Array) return this.#keepHost(current, v);
      gpuStats.readbacks++;
      const out = v.toArray();
      if (out instanceof Promise) return (out as Promise<Float32Array>).then((a) => this.#keepHost(current, a));
      return this.#keepHost(current, out as Float32Array);
    });
  }

  #keepHost(from: Maybe<DeviceValue>, values: Float32Array): TypedArray {
    const host = this.dtype === 'float32' ? values.slice(0, this.size) : Int32Array.from(values.subarray(0, this.size));
    // Under webgpu a later write may have replaced the value meanwhile: cache the copy only if not.
    if (this.#device === from) this.#host = host;
    return host;
  }

  /** Sets the contents from the host. The device copy is uploaded when a kernel first needs it. */
  setHost(data: TypedArray): void {
    this.#check('write');
    const old = this.#device;
    this.#device = null;
    this.#holder.value = null;
    if (old !== null) this.#release(old);
    this.#host = dtypeOfArray(data) === this.dtype ? data.slice() : allocArray(this.dtype, data.length).map((_, i) => data[i]!);
  }

  /** Replaces the contents with a kernel's result; the old device value is freed once no reader needs it. */
  setDevice(value: Maybe<DeviceValue>): void {
    this.#check('write');
    const old = this.#device;
    this.#host = null;
    this.#track(value);
    if (old !== null && old !== value) this.#release(old);
  }

  /** Records that a scheduled (async) kernel reads this buffer. */
  addReader(done: Promise<unknown>): void {
    const settled = done.catch(() => undefined);
    this.#holder.readers.push(settled);
    settled.then(() => {
      const i = this.#holder.readers.indexOf(settled);
      if (i >= 0) this.#holder.readers.splice(i, 1);
    });
  }

  /** Resolves when every scheduled reader of the current value has run (immediately when there are none). */
  readersDone(): Maybe<void> {
    return this.#holder.readers.length === 0 ? undefined : Promise.all(this.#holder.readers).then(() => undefined);
  }

  #track(value: Maybe<DeviceValue>): void {
    if (value instanceof Promise) value.catch(() => undefined);
    this.#device = value;
    this.#holder.value = value;
  }

  #release(value: Maybe<DeviceValue>): void {
    andThen(allOf<unknown>([value, this.readersDone()]), (vs) => deleteValue(vs[0] as DeviceValue));
  }

  /** Frees the device memory now (once pending readers finish, under webgpu). Idempotent. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    finalizer?.unregister(this);
    gpuStats.liveBuffers--;
    gpuStats.liveBytes -= this.bytes;
    if (this.#device !== null) this.#release(this.#device);
    this.#device = null;
    this.#holder.value = null;
    this.#host = null;
  }
}

const uploadKernels = new Map<number, GpuJsKernel>();

/** Host data onto the device: a copy kernel over the array, pipelined so the result stays resident. */
export function upload(data: TypedArray): Maybe<DeviceValue> {
  const ctx = gpuContext();
  const values = data instanceof Float32Array ? data.slice() : Float32Array.from(data);
  if (ctx.info.device === 'cpu-fallback' || values.length === 0) return values;
  gpuStats.uploads++;
  let kernel = uploadKernels.get(values.length);
  if (!kernel) {
    kernel = ctx.gpu.createKernel('function (a) { return a[this.thread.x]; }', kernelSettings(values.length));
    uploadKernels.set(values.length, kernel);
  }
  return kernel(values) as Maybe<DeviceValue>;
}

/** Settings every kernel of the backend is created with: one float per output element, kept on the device. */
export function kernelSettings(size: number): Record<string, unknown> {
  return { output: [size], pipeline: true, immutable: true, precision: 'single', tactic: 'precision', loopMaxIterations: 1 << 24 };
}

/** Forgets cached upload kernels (with the gpu.js instance they belong to). */
export function dropUploadKernels(): void {
  uploadKernels.clear();
}
