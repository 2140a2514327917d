import type { Backend } from '../../../backend.ts';
import { availableBackends, getBackend, setBackend } from '../../index.ts';
import type { GoldenFile } from '../../../conformance/op-cases.ts';
import { benchMatmul, benchStep } from '../bench-core.ts';
import type { GpuMode } from '../context.ts';
import { configureGpu } from '../index.ts';
import type { BlockConfig } from '../tiny-block.ts';
import { runPage } from './page.ts';

// Bundled for the test page: the functions the test and the benchmark call through playwright.
const page = globalThis as unknown as Record<string, unknown>;

page.glassboxRun = async (mode: GpuMode, perOp: number, steps: number) => {
  const goldens = (await (await fetch('/goldens.json')).json()) as GoldenFile;
  return runPage(mode, goldens, perOp, steps);
};

page.glassboxBench = async (mode: GpuMode, sizes: number[], budgetMs: number, block: BlockConfig, stepReps: number) => {
  const info = configureGpu({ mode });
  const backends: Record<string, Backend<unknown>> = {};
  for (const name of ['gpu', 'wasm', 'js'].filter((n) => availableBackends().includes(n))) {
    setBackend(name);
    backends[name] = getBackend();
  }
  return { info, matmul: await benchMatmul(backends, sizes, budgetMs), step: await benchStep(backends, block, stepReps) };
};
