import { startBrowserWorker } from './browser-worker.ts';
import { wasmMemory } from './memory.ts';

/**
 * Worker threads that run calls of one exported wasm function over the shared memory: Node's
 * worker_threads, or Web Workers in a cross-origin isolated page. Each worker instantiates the
 * same compiled module against the same WebAssembly.Memory and sleeps in Atomics.wait. A job is a
 * list of argument rows in shared memory; every thread, the caller included, takes the next row
 * with an atomic increment until none is left, and appends its own thread-local arguments (its
 * scratch space). Taking rows one by one, rather than splitting the work up front, keeps a thread
 * that the machine has descheduled (or a worker still starting) from holding the others up.
 * With one thread (the default where there is a single core) no worker is started at all.
 */

// Control words: next row, rows completed, row count, error flag, generation, rows run by workers.
const NEXT = 0;
const COMPLETED = 1;
const COUNT = 2;
const ERROR = 3;
const GENERATION = 4;
const WORKER_ROWS = 5;
const HEADER = 8;
const CAPACITY = 1024;
const CLOSED = 1 << 30;

/** What a worker is started with. */
export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Address of the control words, followed by the job rows. */
  control: number;
  /** i32 arguments per job row. */
  width: number;
  exportName: string;
  /** The thread-local arguments appended to every row. */
  local: number[];
}

/** A started worker: a Node Worker or a Web Worker. */
export interface PoolWorker {
  terminate(): unknown;
}

interface NodeWorker extends PoolWorker {
  unref(): void;
  on(event: 'error', listener: (e: unknown) => void): void;
}

interface NodeWorkerModule {
  Worker: new (code: string, options: { eval: true; workerData: WorkerData }) => NodeWorker;
}

// Plain JavaScript, run by each worker: instantiate, then serve jobs until terminated.
const SERVE_SOURCE = `function serve({ module, memory, control, width, exportName, local }) {
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
      Atomics.add(ctrl, ${WORKER_ROWS}, 1);
      Atomics.add(ctrl, ${COMPLETED}, 1);
      Atomics.notify(ctrl, ${COMPLETED});
    }
  }
}
`;

/** Starts one worker serving jobs: a Node worker thread, else a Web Worker; null where neither can run. */
function startWorker(data: WorkerData): PoolWorker | null {
  const nodeWorkers = builtin<NodeWorkerModule>('node:worker_threads');
  if (!nodeWorkers) return startBrowserWorker(SERVE_SOURCE, data);
  const worker = new nodeWorkers.Worker(`${SERVE_SOURCE}\nserve(require('node:worker_threads').workerData);`, { eval: true, workerData: data });
  worker.unref();
  worker.on('error', () => {});
  return worker;
}

let blocking: boolean | undefined;

/** Whether this thread may sleep in Atomics.wait: a browser's main thread may not. */
function canBlock(ctrl: Int32Array): boolean {
  if (blocking === undefined) {
    try {
      // A spare header word, never 1: returns at once where waiting is allowed, throws where not.
      Atomics.wait(ctrl, HEADER - 1, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

function builtin<T>(id: string): T | null {
  const proc = typeof process !== 'undefined' ? (process as unknown as { getBuiltinModule?: (id: string) => unknown }) : undefined;
  return (proc?.getBuiltinModule?.(id) as T | undefined) ?? null;
}

function defaultThreads(): number {
  const env = typeof process !== 'undefined' ? process.env.GLASSBOX_WASM_THREADS : undefined;
  if (env) return Math.max(1, Math.floor(Number(env)) || 1);
  const browser = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const cores = builtin<{ availableParallelism?: () => number }>('node:os')?.availableParallelism?.() ?? browser?.hardwareConcurrency ?? 1;
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
  private readonly workers: PoolWorker[] = [];
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
    while (this.workers.length < target) {
      const worker = startWorker({
        module: this.module,
        memory: memory.memory,
        control: this.control,
        width: this.width,
        exportName: this.exportName,
        local: [...this.localArgs(this.workers.length + 1)],
      });
      if (!worker) return;
      this.workers.push(worker);
    }
  }

  /** Rows that workers (not the calling thread) have run since the pool started. */
  get workerRows(): number {
    return Atomics.load(new Int32Array(wasmMemory().memory.buffer, this.control, HEADER), WORKER_ROWS);
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
      // Wait for the rows the workers still hold; a browser's main thread may not sleep, so it spins.
      for (;;) {
        const done = Atomics.load(ctrl, COMPLETED);
        if (done >= chunk.length) break;
        if (canBlock(ctrl)) Atomics.wait(ctrl, COMPLETED, done, 50);
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

/** For tests: worker threads started over all pools, and the job rows they have run. */
export function wasmThreadStats(): { workers: number; workerRows: number } {
  let workers = 0;
  let workerRows = 0;
  for (const pool of pools.values()) {
    workers += pool.size - 1;
    workerRows += pool.workerRows;
  }
  return { workers, workerRows };
}
