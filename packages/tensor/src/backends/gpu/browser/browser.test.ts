import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageReport } from './page.ts';
import { CHROMIUM, bundlePage, servePage, withPage } from './serve.ts';

const present = existsSync(CHROMIUM);
if (!present) console.warn(`gpu browser tests skipped: ${CHROMIUM} is absent (apt-get install chromium)`);

describe.skipIf(!present)('gpu backend in headless Chromium', () => {
  let url = '';
  let server: Server | undefined;
  beforeAll(async () => {
    ({ url, server } = await servePage(await bundlePage()));
  });
  afterAll(() => server?.close());

  it.for(['webgl2', 'webgpu'] as const)('passes a conformance subset and a transformer block step on %s', { timeout: 60_000 }, async (mode) => {
    const report = await withPage(mode, url, async (page, errors) => {
      await page.waitForFunction(() => 'glassboxRun' in globalThis);
      const result = (await page.evaluate(
        ([m, perOp, steps]) => (globalThis as unknown as { glassboxRun: (...a: unknown[]) => Promise<unknown> }).glassboxRun(m, perOp, steps),
        [mode, 1, 10] as const,
      )) as PageReport;
      expect(errors).toEqual([]);
      return result;
    });
    console.log(`${mode}: ${report.info.renderer ?? report.info.note}; ${report.cases} cases in ${report.ms} ms; fallbacks ${JSON.stringify(report.stats.fallbacks)}; memory ${JSON.stringify(report.memory)}`);
    expect(report.info.mode).toBe(mode);
    expect(report.info.device).toBe('gpu');
    expect(report.failures).toEqual([]);
    expect(report.block.failures).toEqual([]);
    expect(report.memory.after).toBe(report.memory.before);
    expect(report.memory.deviceAfter).toBeLessThanOrEqual(report.memory.deviceBefore);
    expect(report.stats.degraded).toEqual({});
  });
});
