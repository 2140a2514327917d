/**
 * Training throughput of a TopK SAE at the speed configuration: d_in 512, d_sae 8192,
 * k 32, batch 4096, Adam, unit-norm decoder. Glassbox only: the side-by-side comparison with
 * PyTorch and tfjs belongs to the benchmarks package. It reports tokens/s and where a step's
 * time goes (dense encoder product and selection, sparse decoder and backward, optimizer), and
 * writes bench/results/topk-speed.json.
 *
 *   pnpm --filter @glassbox/plugin-sdl exec tsx --conditions source bench/topk-speed.bench.ts [--steps 5] [--batch 4096]
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Adam, Generator, getBackend, randn, tidy } from '@glassbox/tensor';
import { writeJsonAtomic } from '../src/io/atomic.ts';
import { saeConfig } from '../src/sae/config.ts';
import { createSae } from '../src/sae/create.ts';
import { DEFAULT_STEP_CONTEXT } from '../src/sae/sparse-autoencoder.ts';
import { normalizeDecoderRows, projectDecoderGradient } from '../src/train/decoder-constraint.ts';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const [dIn, dSae, k] = [512, 8192, 32];
const batch = argument('batch', 4096);
const steps = argument('steps', 5);
const sae = createSae(saeConfig({ architecture: 'topk', dIn, dSae, k }), { generator: Generator.fromSeed(0) });
const optimizer = new Adam(sae.parameters(), { lr: 1e-4 });
const x = randn([batch, dIn], { generator: Generator.fromSeed(1) });
const phases = { forward: 0, backward: 0, decoderConstraint: 0, optimizer: 0 };
let total = 0;
for (let step = 0; step <= steps; step++) {
  // As the trainer runs a step: inside tidy(), so its temporaries are freed at its end.
  const t = tidy(() => {
    const t0 = performance.now();
    const out = sae.trainStep(x, { ...DEFAULT_STEP_CONTEXT, deadMask: null });
    const t1 = performance.now();
    out.loss.backward();
    const t2 = performance.now();
    projectDecoderGradient(sae.W_dec);
    const t3 = performance.now();
    optimizer.step();
    optimizer.zeroGrad();
    const t4 = performance.now();
    normalizeDecoderRows(sae.W_dec);
    const t5 = performance.now();
    return [t0, t1, t2, t3, t4, t5] as const;
  });
  const [t0, t1, t2, t3, t4, t5] = t;
  // Step 0 warms up (kernel compilation, allocation) and is not counted.
  if (step === 0) continue;
  phases.forward += t1 - t0;
  phases.backward += t2 - t1;
  phases.decoderConstraint += t3 - t2 + (t5 - t4);
  phases.optimizer += t4 - t3;
  total += t5 - t0;
  console.log(`step ${step}: ${(t5 - t0).toFixed(0)} ms (forward ${(t1 - t0).toFixed(0)}, backward ${(t2 - t1).toFixed(0)}, optimizer ${(t4 - t3).toFixed(0)})`);
}
const tokensPerSecond = (batch * steps) / (total / 1000);
console.log(`${getBackend().name}: ${tokensPerSecond.toFixed(0)} tokens/s`);
const report = {
  benchmark: 'topk-sae-train-speed',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, backend: getBackend().name },
  config: { dIn, dSae, k, batch, steps },
  tokensPerSecond,
  msPerStep: Object.fromEntries(Object.entries(phases).map(([name, ms]) => [name, ms / steps])),
};
await writeJsonAtomic(join(fileURLToPath(new URL('.', import.meta.url)), 'results', 'topk-speed.json'), report);
