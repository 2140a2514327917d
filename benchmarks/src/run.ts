/**
 * Runs the benchmarks, writes results/<name>.json and regenerates their README sections.
 * `pnpm bench` runs them all; `pnpm bench matmul` runs only those named.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Benchmark, README_PATH, RESULTS_DIR, replaceMarkedSection, writeJsonAtomic } from './harness.ts';
import { gpuBenchmark } from './gpu.bench.ts';
import { grokkingBenchmark } from './grokking.bench.ts';
import { inductionBenchmark } from './induction.bench.ts';
import { matmulBenchmark } from './matmul.bench.ts';
import { saeSpeedBenchmark } from './sae-speed.bench.ts';
import { trainStepBenchmark } from './train-step.bench.ts';
import { wasmBenchmark } from './wasm.bench.ts';

/** Every benchmark, in run order; add new `*.bench.ts` modules here. */
const benchmarks: readonly Benchmark[] = [matmulBenchmark, gpuBenchmark, wasmBenchmark, trainStepBenchmark, saeSpeedBenchmark, grokkingBenchmark, inductionBenchmark];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = wanted.filter((name) => !benchmarks.some((b) => b.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
  }
  const selected = wanted.length > 0 ? benchmarks.filter((b) => wanted.includes(b.name)) : benchmarks;
  mkdirSync(RESULTS_DIR, { recursive: true });
  for (const benchmark of selected) {
    console.log(`# ${benchmark.name}: ${benchmark.description}`);
    const { json, markdown } = await benchmark.run((line) => console.log(line));
    const jsonPath = join(RESULTS_DIR, `${benchmark.name}.json`);
    writeJsonAtomic(jsonPath, json);
    replaceMarkedSection(README_PATH, benchmark.name, markdown);
    console.log(`wrote ${jsonPath} and the ${benchmark.name} section of README.md`);
  }
}

await main();
