import type { PoolWorker, WorkerData } from './thread-pool.ts';

let scriptUrl: string | undefined;

/**
 * Starts a Web Worker that runs `serve(data)`, `serveSource` being the classic-script source of
 * `serve`; null where there are no Web Workers, or where the page is not cross-origin isolated:
 * Chromium then still creates a shared WebAssembly.Memory but refuses to post it to a worker.
 * A worker starts only once the page returns to its event loop, so until then the calling thread
 * runs every row itself.
 */
export function startBrowserWorker(serveSource: string, data: WorkerData): PoolWorker | null {
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || !globalThis.crossOriginIsolated) return null;
  scriptUrl ??= URL.createObjectURL(new Blob([`${serveSource}\nself.onmessage = (e) => serve(e.data);\n`], { type: 'text/javascript' }));
  const worker = new Worker(scriptUrl);
  worker.postMessage(data);
  return worker;
}
