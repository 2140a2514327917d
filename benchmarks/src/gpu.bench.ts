/**
 * The gpu backend (gpu.js) against the wasm and js backends: square matmuls from 256 to 4096 and a
 * transformer block's forward and backward step, in Node and in headless Chromium (WebGL2 and
 * WebGPU on SwiftShader). Reports where gpu first beats wasm, if anywhere.
 */

import { existsSync } from 'node:fs';
import { type Backend, availableBackends, getBackend, gpu, setBackend } from '../../packages/tensor/src/index.ts';
import { type MatmulRow, benchMatmul, benchStep, crossover } from '../../packages/tensor/src/backends/gpu/bench-core.ts';
import { CHROMIUM, bundlePage, servePage, withPage } from '../../packages/tensor/src/backends/gpu/browser/serve.ts';
import type { BlockConfig } from '../../packages/tensor/src/backends/gpu/tiny-block.ts';
import { type Benchmark, describeMachine, fmt, markdownTable } from './harness.ts';

const SIZES = [256, 512, 1024, 2048, 4096];
/** A size is skipped for a backend once its extrapolated time per product passes this. */
const BUDGET_MS = 20_000;
const BLOCK: BlockConfig = { dVocab: 64, dModel: 64, nHeads: 4, dMlp: 256, nCtx: 32, batch: 4 };
const STEP_REPS = 3;

interface Run {
  environment: string;
  mode: string;
  device: string;
  renderer: string | null;
  matmul: MatmulRow[];
  step: Record<string, number>;
  crossoverVsWasm: number | null;
  crossoverVsJs: number | null;
}

function summarise(environment: string, info: ReturnType<typeof gpu.gpuInfo>, matmul: MatmulRow[], step: Record<string, number>): Run {
  return {
    environment,
    mode: info.mode,
    device: info.device,
    renderer: info.renderer,
    matmul,
    step,
    crossoverVsWasm: crossover(matmul, 'gpu', 'wasm'),
    crossoverVsJs: crossover(matmul, 'gpu', 'js'),
  };
}

async function inNode(): Promise<Run> {
  const previous = getBackend().name;
  const backends: Record<string, Backend<unknown>> = {};
  for (const name of ['gpu', 'wasm', 'js'].filter((n) => availableBackends().includes(n))) {
    setBackend(name);
    backends[name] = getBackend();
  }
  setBackend(previous);
  const matmul = await benchMatmul(backends, SIZES, BUDGET_MS);
  const step = await benchStep(backends, BLOCK, STEP_REPS);
  return summarise('node', gpu.gpuInfo(), matmul, step);
}

async function inChromium(mode: 'webgl2' | 'webgpu', url: string): Promise<Run> {
  return withPage(mode, url, async (page) => {
    await page.waitForFunction(() => 'glassboxBench' in globalThis);
    const result = (await page.evaluate(
      ([m, sizes, budget, block, reps]) => (globalThis as unknown as { glassboxBench: (...a: unknown[]) => Promise<unknown> }).glassboxBench(m, sizes, budget, block, reps),
      [mode, SIZES, BUDGET_MS, BLOCK, STEP_REPS] as const,
    )) as { info: ReturnType<typeof gpu.gpuInfo>; matmul: MatmulRow[]; step: Record<string, number> };
    return summarise('chromium', result.info, result.matmul, result.step);
  });
}

function ms(x: number | null | undefined): string {
  return x == null ? 'skipped' : fmt(x);
}

function markdown(runs: readonly Run[]): string {
  const rows = runs.flatMap((r) =>
    r.matmul.map((m) => [`${r.environment} ${r.mode}`, String(m.size), ms(m.ms.gpu), ms(m.ms.wasm), ms(m.ms.js)]),
  );
  const steps = runs.map((r) => [`${r.environment} ${r.mode}`, ms(r.step.gpu), ms(r.step.wasm), ms(r.step.js)]);
  const cross = runs.map(
    (r) =>
      `- ${r.environment} ${r.mode} (${r.device}${r.renderer ? `, ${r.renderer}` : ''}): gpu beats wasm from ${r.crossoverVsWasm ?? 'never'}, beats js from ${r.crossoverVsJs ?? 'never'}.`,
  );
  return [
    'Milliseconds per square float32 matmul, result read back (median; "skipped" where the extrapolated time passed 20 s):',
    '',
    markdownTable(['where, gpu mode', 'size', 'gpu', 'wasm', 'js'], rows, 'lrrrr'),
    '',
    `Milliseconds per forward and backward step of a transformer block (d_model ${BLOCK.dModel}, ${BLOCK.nHeads} heads, d_mlp ${BLOCK.dMlp}, n_ctx ${BLOCK.nCtx}, batch ${BLOCK.batch}):`,
    '',
    markdownTable(['where, gpu mode', 'gpu', 'wasm', 'js'], steps, 'lrrr'),
    '',
    'Crossover:',
    '',
    ...cross,
    '',
    'These are software rendering (SwiftShader) and gpu.js CPU modes only; figures on a real GPU (WebGPU on NVIDIA Vulkan, from `src/gpu-device.ts`) follow below.',
  ].join('\n');
}

export const gpuBenchmark: Benchmark = {
  name: 'gpu',
  description: 'gpu (gpu.js) vs wasm vs js: matmul 256–4096 and a transformer block step, in Node and headless Chromium',
  async run(log) {
    const runs: Run[] = [];
    runs.push(await inNode());
    log(`node: ${JSON.stringify(runs[0])}`);
    if (existsSync(CHROMIUM)) {
      const { url, server } = await servePage(await bundlePage());
      try {
        for (const mode of ['webgl2', 'webgpu'] as const) {
          const run = await inChromium(mode, url);
          runs.push(run);
          log(`chromium ${mode}: ${JSON.stringify(run)}`);
        }
      } finally {
        server.close();
      }
    } else {
      log(`${CHROMIUM} is absent: browser figures skipped`);
    }
    return { json: { machine: describeMachine(), realGpu: null, runs }, markdown: markdown(runs) };
  },
};
