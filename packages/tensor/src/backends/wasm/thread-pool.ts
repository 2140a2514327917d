import { wasmMemory } from './memory.ts';

/**
 * Worker threads that run calls of one exported wasm function over the shared memory. Each
 * worker instantiates the same compiled module against the same WebAssembly.Memory and sleeps
 * in Atomics.wait. A job is a list of argument rows in shared memory; every thread, the caller
 * included, takes the next row with an atomic increment until none is left, and appends its own
 * thread-local arguments (its scratch space). Taking rows one by one, rather than splitting the
 * work up front, keeps a thread that the machine has descheduled from holding the others up.
 * With one thread (the default where there is a single core) no worker is started at all.
 */

// Control words: next row, rows completed, row count, error flag, generation.
const NEXT = 0;
const COMPLETED = 1;
const COUNT = 2;
const ERROR = 3;
const GENERATION = 4;
const HEADER = 8;
const CAPACITY = 1024;
const CLOSED = 1 << 30;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error', listener: (e: unknown) => void): void;
}

interface NodeWorkerModule {
  Worker: new (code: string, options: { eval: true; workerData: unknown }) => NodeWorker;
}

// Plain JavaScript, run by each worker: instantiate, then serve jobs until terminated.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, width, exportName, local } = workerData;
const fn = new WebAssembly.Instance(module, { env: { memory } }).exports[exportName];
const ctrl = new Int32Array(memory.buffer, control, ${HEADER});
let generation = 0;
for (;;) {
  Atomics.wait(ctrl, ${GENERATION}, generation);
  generation = Atomics.load(ctrl, ${GENERATION});
  const rows = new Int32Array(memory.buffer, control + ${HEADER * 4}, ${CAPACITY} * width);
  for (;;) {
    const i = Atomics.add(ctrl, ${NEXT}, 1);
    if (i >= Atomics.load(ctrl, ${COUNT})) break;
    try {
      const args = Array.from(rows.subarray(i * width, (i + 1) * width));
      fn(...args, ...local);
    } catch (e) {
      Atomics.store(ctrl, ${ERROR}, 1);
    }
    Atomics.add(ctrl, ${COMPLETED}, 1);
    Atomics.notify(ctrl, ${COMPLETED});
  }
}
`;

function builtin<T>(id: string): T | null {
  const proc = typeof process !== 'undefined' ? (process as unknown as { getBuiltinModule?: (id: string) => unknown }) : undefined;
  return (proc?.getBuiltinModule?.(id) as T | undefined) ?? null;
}

function defaultThreads(): number {
  const env = typeof process !== 'undefined' ? process.env.GLASSBOX_WASM_THREADS : undefined;
  if (env) return Math.max(1, Math.floor(Number(env)) || 1);
  const cores = builtin<{ availableParallelism?: () => number }>('node:os')?.availableParallelism?.() ?? 1;
  return Math.min(cores, 8);
}

let requestedThreads: number | undefined;

/** Sets how many threads (the calling one included) large wasm kernels may use; 1 turns workers off. */
export function setWasmThreads(count: number): void {
  requestedThreads = Math.max(1, Math.floor(count));
  for (const pool of pools.values()) pool.resize(requestedThreads);
}

/** The thread count large kernels use: setWasmThreads(), else GLASSBOX_WASM_THREADS, else the core count (at most 8). */
export function wasmThreads(): number {
  requestedThreads ??= defaultThreads();
  return requestedThreads;
}

export class ThreadPool {
  private readonly workers: NodeWorker[] = [];
  private readonly module: WebAssembly.Module;
  private readonly exportName: string;
  private readonly width: number;
  private readonly localArgs: (thread: number) => readonly number[];
  private readonly control: number;

  /**
   * @param width i32 arguments per job row
   * @param localArgs the arguments each thread appends to every row it runs (thread 0 is the caller)
   */
  constructor(module: WebAssembly.Module, exportName: string, width: number, localArgs: (thread: number) => readonly number[], threads: number) {
    this.module = module;
    this.exportName = exportName;
    this.width = width;
    this.localArgs = localArgs;
    const memory = wasmMemory();
    const bytes = (HEADER + CAPACITY * width) * 4;
    this.control = memory.allocRaw(bytes);
    memory.i32.fill(0, this.control >>> 2, (this.control + bytes) >>> 2);
    this.resize(threads);
  }

  /** Threads available, the calling one included. */
  get size(): number {
    return this.workers.length + 1;
  }

  resize(threads: number): void {
    const memory = wasmMemory();
    const target = memory.shared ? threads - 1 : 0;
    while (this.workers.length > target) void this.workers.pop()!.terminate();
    const nodeWorkers = target > this.workers.length ? builtin<NodeWorkerModule>('node:worker_threads') : null;
    if (!nodeWorkers) return;
    while (this.workers.length < target) {
      const worker = new nodeWorkers.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          module: this.module,
          memory: memory.memory,
          control: this.control,
          width: this.width,
          exportName: this.exportName,
          local: [...this.localArgs(this.workers.length + 1)],
        },
      });
      worker.unref();
      worker.on('error', () => {});
      this.workers.push(worker);
    }
  }

  /** Runs every row, spread over the threads; returns once all are done. `local` runs a row on the caller. */
  run(rows: readonly (readonly number[])[], local: (args: readonly number[]) => void): void {
    const memory = wasmMemory();
    const ctrl = new Int32Array(memory.memory.buffer, this.control, HEADER);
    const table = new Int32Array(memory.memory.buffer, this.control + HEADER * 4, CAPACITY * this.width);
    const mine = this.localArgs(0);
    for (let start = 0; start < rows.length; start += CAPACITY) {
      const chunk = rows.slice(start, start + CAPACITY);
      // Close the queue while it is rewritten, so a late worker of the last job takes nothing.
      Atomics.store(ctrl, NEXT, CLOSED);
      chunk.forEach((args, t) => {
        table.set(args, t * this.width);
      });
      Atomics.store(ctrl, COUNT, chunk.length);
      Atomics.store(ctrl, COMPLETED, 0);
      Atomics.store(ctrl, ERROR, 0);
      Atomics.store(ctrl, NEXT, 0);
      Atomics.add(ctrl, GENERATION, 1);
      Atomics.notify(ctrl, GENERATION);
      for (;;) {
        const i = Atomics.add(ctrl, NEXT, 1);
        if (i >= chunk.length) break;
        local([...chunk[i]!, ...mine]);
        Atomics.add(ctrl, COMPLETED, 1);
      }
      for (;;) {
        const done = Atomics.load(ctrl, COMPLETED);
        if (done >= chunk.length) break;
        Atomics.wait(ctrl, COMPLETED, done, 50);
      }
      if (Atomics.load(ctrl, ERROR) !== 0) throw new Error('a wasm worker failed');
    }
  }
}

const pools = new Map<string, ThreadPool>();

/** The pool serving `exportName` of a compiled module, started on first use. */
export function threadPool(key: string, module: WebAssembly.Module, exportName: string, width: number, localArgs: (thread: number) => readonly number[]): ThreadPool {
  let pool = pools.get(key);
  if (!pool) {
    pool = new ThreadPool(module, exportName, width, localArgs, wasmThreads());
    pools.set(key, pool);
  }
  return pool;
}
