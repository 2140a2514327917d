import { ValueError } from '../../errors.ts';
import { type AllocatorStats, RangeAllocator } from './allocator.ts';

const PAGE = 65536;
/** wasm32 addresses reach 4 GiB. */
const MAX_PAGES = 65536;
/** The first page stays unused, so address 0 is never a live buffer. */
const RESERVED = PAGE;
/** Live bytes before resident buffers are spilled (GLASSBOX_WASM_BUDGET_MB overrides). */
const DEFAULT_BUDGET = budgetFromEnv() ?? 512 * 2 ** 20;
const MAX_BUDGET = 3 * 2 ** 30;

function budgetFromEnv(): number | undefined {
  const mb = typeof process !== 'undefined' ? Number(process.env.GLASSBOX_WASM_BUDGET_MB) : Number.NaN;
  return mb > 0 ? mb * 2 ** 20 : undefined;
}

const FREED = -1;
const SPILLED = -2;

/**
 * A buffer in WebAssembly memory: the handle type of the wasm backend. Views of one tensor
 * (reshape, slice, transpose) share the handle, so the block lives as long as any of them.
 */
export class WasmBuffer {
  /** Byte address in the memory; -1 once freed, -2 while spilled to the JavaScript heap. */
  ptr: number;
  readonly bytes: number;
  /** Exempt from tidy(): set by keep(). */
  kept = false;
  /** The kernel call that last touched it: buffers of the running call are never spilled. */
  epoch = 0;
  /** The bytes while spilled. */
  spilled: Uint8Array | null = null;

  constructor(ptr: number, bytes: number) {
    this.ptr = ptr;
    this.bytes = bytes;
  }
}

/**
 * The one WebAssembly.Memory every kernel module imports, and its allocator.
 *
 * Freeing. tidy() and dispose() free blocks at once. Beyond that, the JavaScript engine gives no
 * way to learn within a synchronous loop that a tensor became unreachable (finalizers and weak
 * references only act between tasks), so the resident buffers are bounded instead: when live
 * bytes would pass the budget, every buffer not used by the running kernel is spilled, its bytes
 * copied to an ordinary Uint8Array. The garbage collector then reclaims the spilled copies of
 * tensors nobody holds, and a live tensor is copied back on its next use. When more than half
 * a budget comes back between two spills, the working set is larger than the budget, which then
 * doubles.
 */
export class WasmMemory {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  private readonly allocator: RangeAllocator;
  private readonly scopes: Array<Set<WasmBuffer>> = [];
  private readonly resident = new Set<WasmBuffer>();
  private epoch = 1;
  private budget: number;
  private restored = 0;
  spills = 0;
  f32: Float32Array;
  i32: Int32Array;
  u8: Uint8Array;
  f64: Float64Array;

  constructor(initialPages = 256, budget = DEFAULT_BUDGET) {
    let memory: WebAssembly.Memory;
    let shared = true;
    try {
      memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    } catch {
      // A runtime without shared memory: no workers then. (Chromium creates it even without
      // cross-origin isolation but cannot post it to a worker; browser-worker.ts checks that.)
      memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES });
      shared = false;
    }
    this.memory = memory;
    this.shared = shared;
    this.budget = budget;
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    this.allocator = new RangeAllocator(RESERVED, (bytes) => this.ensure(bytes));
  }

  /** Grows the memory to hold `used` bytes, by at least a quarter each time, and renews the views. */
  private ensure(used: number): void {
    // 64 bytes of slack past the last block: SIMD tails may read (never write) a vector beyond a row.
    const bytes = used + 64;
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const havePages = have / PAGE;
    const need = Math.ceil(bytes / PAGE) - havePages;
    const grow = Math.min(Math.max(need, Math.ceil(havePages / 4)), MAX_PAGES - havePages);
    if (grow < need) {
      throw new ValueError('out of WebAssembly memory', {
        op: 'wasm allocate',
        expected: `at most ${MAX_PAGES * PAGE} bytes in use`,
        given: `a request that needs ${bytes} bytes`,
      });
    }
    this.memory.grow(grow);
    this.refresh();
  }

  /** Typed arrays over the whole memory; renewed after growth, which detaches or outgrows the old ones. */
  refresh(): void {
    const buffer = this.memory.buffer;
    if (this.f32.buffer === buffer && this.f32.length * 4 === buffer.byteLength) return;
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  /** Starts a kernel call: what it touches from now on is pinned until the next call. */
  beginKernel(): void {
    this.epoch++;
  }

  private place(bytes: number): number {
    if (this.allocator.liveBytes + bytes > this.budget) this.spillAll();
    return this.allocator.alloc(bytes);
  }

  /** An uninitialised block. */
  alloc(bytes: number): WasmBuffer {
    const buffer = new WasmBuffer(this.place(bytes), bytes);
    buffer.epoch = this.epoch;
    this.resident.add(buffer);
    this.scopes[this.scopes.length - 1]?.add(buffer);
    return buffer;
  }

  /** The buffer's address, copying it back in if it was spilled; pins it for the running kernel. */
  use(buffer: WasmBuffer): number {
    if (buffer.ptr === SPILLED) {
      const ptr = this.place(buffer.bytes);
      this.u8.set(buffer.spilled!, ptr);
      buffer.ptr = ptr;
      buffer.spilled = null;
      this.resident.add(buffer);
      this.restored += buffer.bytes;
    }
    if (buffer.ptr === FREED) {
      throw new ValueError('tensor memory was freed', {
        op: 'wasm kernel',
        expected: 'a live tensor',
        given: 'a tensor disposed by dispose() or freed at the end of tidy()',
      });
    }
    buffer.epoch = this.epoch;
    return buffer.ptr;
  }

  free(buffer: WasmBuffer): void {
    if (buffer.ptr >= 0) {
      this.allocator.free(buffer.ptr, buffer.bytes);
      this.resident.delete(buffer);
    }
    buffer.spilled = null;
    buffer.ptr = FREED;
  }

  /** Copies every resident buffer not pinned by the running kernel out to the JavaScript heap. */
  private spillAll(): void {
    if (this.restored > this.budget / 2) this.budget = Math.min(this.budget * 2, MAX_BUDGET);
    this.restored = 0;
    this.spills++;
    for (const buffer of this.resident) {
      if (buffer.epoch === this.epoch) continue;
      buffer.spilled = this.u8.slice(buffer.ptr, buffer.ptr + buffer.bytes);
      this.allocator.free(buffer.ptr, buffer.bytes);
      this.resident.delete(buffer);
      buffer.ptr = SPILLED;
    }
  }

  /** Live bytes that trigger a spill; it doubles by itself when the working set is larger. */
  setBudget(bytes: number): void {
    this.budget = Math.max(bytes, PAGE);
  }

  /** Raw blocks that no handle owns (kernel scratch space), never spilled. */
  allocRaw(bytes: number): number {
    return this.allocator.alloc(bytes);
  }
  freeRaw(ptr: number, bytes: number): void {
    this.allocator.free(ptr, bytes);
  }

  stats(): AllocatorStats & { memoryBytes: number; budgetBytes: number; spills: number } {
    return { ...this.allocator.stats(), memoryBytes: this.memory.buffer.byteLength, budgetBytes: this.budget, spills: this.spills };
  }

  openScope(): Set<WasmBuffer> {
    const scope = new Set<WasmBuffer>();
    this.scopes.push(scope);
    return scope;
  }

  /** Frees what the scope allocated except `survivors` and kept buffers, which move to the enclosing scope. */
  closeScope(scope: Set<WasmBuffer>, survivors: ReadonlySet<WasmBuffer>): void {
    const i = this.scopes.lastIndexOf(scope);
    if (i >= 0) this.scopes.splice(i, 1);
    const parent = this.scopes[this.scopes.length - 1];
    for (const buffer of scope) {
      if (buffer.ptr === FREED) continue;
      if (buffer.kept || survivors.has(buffer)) parent?.add(buffer);
      else this.free(buffer);
    }
  }
}

let instance: WasmMemory | undefined;

/** The process-wide wasm memory, created on first use. */
export function wasmMemory(): WasmMemory {
  instance ??= new WasmMemory();
  return instance;
}

/** Whether the wasm memory has been created (so scope helpers can stay free when it has not). */
export function hasWasmMemory(): boolean {
  return instance !== undefined;
}
