import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, bundlePage, servePage, withPage } from '../../gpu/browser/serve.ts';
import type { ThreadsReport } from './threads-page.ts';

const present = existsSync(CHROMIUM);
if (!present) console.warn(`wasm browser thread tests skipped: ${CHROMIUM} is absent (apt-get install chromium)`);

type PageFns = {
  glassboxWasmThreads: (threads: number, n: number, tries: number) => Promise<ThreadsReport>;
  glassboxWasmTiming: (n: number, reps: number, counts: number[]) => Promise<Record<number, number>>;
};

// 256³ multiply-adds: past the pool's threshold, and cut into column slices shared by the threads.
const N = 256;

describe.skipIf(!present)('wasm thread pool in headless Chromium', () => {
  const servers: Server[] = [];
  let isolatedUrl = '';
  let plainUrl = '';
  beforeAll(async () => {
    const bundle = await bundlePage(new URL('./threads-page.ts', import.meta.url));
    const isolated = await servePage(bundle, { isolated: true });
    const plain = await servePage(bundle);
    servers.push(isolated.server, plain.server);
    [isolatedUrl, plainUrl] = [isolated.url, plain.url];
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('runs rows on Web Workers in a cross-origin isolated page', { timeout: 60_000 }, async () => {
    const report = (await withPage('cpu', isolatedUrl, async (page, errors) => {
      await page.waitForFunction(() => 'glassboxWasmThreads' in globalThis);
      const r = await page.evaluate(([n]) => (globalThis as unknown as PageFns).glassboxWasmThreads(2, n, 50), [N] as const);
      // One 1024³ timing per thread count for the log; too noisy on a shared machine to assert.
      const ms = await page.evaluate(() => (globalThis as unknown as PageFns).glassboxWasmTiming(1024, 3, [1, 2]));
      console.log(`wasm 1024³ matmul in Chromium: 1 thread ${ms[1]!.toFixed(0)} ms, 2 threads ${ms[2]!.toFixed(0)} ms`);
      expect(errors).toEqual([]);
      return r;
    })) as ThreadsReport;
    console.log(`isolated page: ${JSON.stringify(report)}`);
    expect(report.isolated).toBe(true);
    expect(report.threads).toBe(2);
    expect(report.stats.workers).toBe(1);
    expect(report.stats.workerRows).toBeGreaterThan(0);
    expect(report.maxError).toBeLessThan(1e-3);
  });

  it('stays on the calling thread, with the same result, without isolation', { timeout: 60_000 }, async () => {
    const report = (await withPage('cpu', plainUrl, async (page, errors) => {
      await page.waitForFunction(() => 'glassboxWasmThreads' in globalThis);
      const r = await page.evaluate(([n]) => (globalThis as unknown as PageFns).glassboxWasmThreads(2, n, 3), [N] as const);
      expect(errors).toEqual([]);
      return r;
    })) as ThreadsReport;
    expect(report.isolated).toBe(false);
    expect(report.tries).toBe(3);
    expect(report.stats).toEqual({ workers: 0, workerRows: 0 });
    expect(report.maxError).toBeLessThan(1e-3);
  });
});
