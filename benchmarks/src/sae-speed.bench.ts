/**
 * TopK SAE training throughput, side by side: Glassbox (plugin-sdl's trainer step on the wasm
 * backend, with its sparse decoder and backward), a dense PyTorch CPU step (scripts/sae_speed.py,
 * run as a subprocess and driven line by line) and a dense hand-written tfjs-backend-wasm step.
 * All three start from the same weights and batch and take the same step: encode with bias,
 * top-k, ReLU, decode, summed squared error, decoder gradient projected off the unit-norm rows,
 * Adam (lr 1e-4), rows renormalised; no AuxK. Tokens/s is the batch over the median wall-clock
 * seconds per step, every contender timed once per round, in turn. Where torch's default thread
 * count is below the machine's cores (torch 1.x takes half of them), a second PyTorch peer runs on
 * every core, so that Glassbox's threads are not compared with a torch held to fewer.
 *
 *   pnpm bench sae-speed [--batch=4096] [--steps=1] [--rounds=3] [--torch-threads=N]
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Adam, Generator, randn, setBackend, tidy, wasmThreads } from '@glassbox/tensor';
import { saeConfig } from '../../plugins/sdl/src/sae/config.ts';
import { createSae } from '../../plugins/sdl/src/sae/create.ts';
import { DEFAULT_STEP_CONTEXT } from '../../plugins/sdl/src/sae/sparse-autoencoder.ts';
import { normalizeDecoderRows, projectDecoderGradient } from '../../plugins/sdl/src/train/decoder-constraint.ts';
import { BENCH_ROOT, type Benchmark, describeMachine, fmt, markdownTable, median, integerOption } from './harness.ts';
import { tfjsSaeStep } from './sae-speed-tfjs.ts';

const DIMS = { dIn: 512, dSae: 8192, k: 32, lr: 1e-4 };
const TARGET = { vsTorch: 1.0, vsTfjsWasm: 2.0 };
const CONTENDERS = ['glassbox', 'torch', 'torch-all-cores', 'tfjs-wasm'] as const;
type Contender = (typeof CONTENDERS)[number];

interface TorchInfo {
  torch: string;
  numThreads: number;
  threadsForced: boolean;
  cpuCount: number;
  ompNumThreads: string | null;
  blasInfo: string | null;
  blasLibraries: string[];
  matmulShape: number[];
  matmulGflops: number;
}

interface StepTimes {
  seconds: number[];
  cpuSeconds: number[];
  losses: number[];
}

/** The first Python (PYTHON, python3, then the system's) that imports torch and numpy, or null. */
function findTorchPython(): string | null {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 120_000 });
    if (probe.status === 0) return python;
  }
  return null;
}

/** The PyTorch peer as a long-lived subprocess: `run(n)` asks it for n steps and resolves with their times. */
async function startTorch(python: string, dir: string, batch: number, threads: number) {
  const script = join(BENCH_ROOT, 'scripts', 'sae_speed.py');
  const args = [script, '--dir', dir, '--batch', String(batch), '--d-in', String(DIMS.dIn), '--d-sae', String(DIMS.dSae), '--k', String(DIMS.k), '--lr', String(DIMS.lr)];
  if (threads > 0) args.push('--threads', String(threads));
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the PyTorch peer exited early (see its error above)');
    return value as string;
  };
  const info = JSON.parse(await next()) as TorchInfo;
  return {
    info,
    async run(steps: number): Promise<StepTimes> {
      child.stdin.write(`${steps}\n`);
      return JSON.parse(await next()) as StepTimes;
    },
    close(): void {
      child.stdin.end();
    },
  };
}

/** Runs `steps` steps of a synchronous contender, timing each. */
function timeSteps(steps: number, step: () => number): StepTimes {
  const out: StepTimes = { seconds: [], cpuSeconds: [], losses: [] };
  for (let i = 0; i < steps; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    out.losses.push(step());
    out.seconds.push((performance.now() - t0) / 1000);
    const used = process.cpuUsage(cpu0);
    out.cpuSeconds.push((used.user + used.system) / 1e6);
  }
  return out;
}

export const saeSpeedBenchmark: Benchmark = {
  name: 'sae-speed',
  description: 'TopK SAE training tokens/s (d_in 512, d_sae 8192, k 32): Glassbox vs dense PyTorch CPU and tfjs-backend-wasm',
  async run(log) {
    const batch = integerOption('batch', 4096);
    const steps = Math.max(1, integerOption('steps', 1));
    const rounds = Math.max(1, integerOption('rounds', 3));
    const torchThreads = integerOption('torch-threads', 0, 0);
    const machine = describeMachine();
    const { dIn, dSae, k, lr } = DIMS;

    // Shared starting point: Glassbox's initialisation (unit-norm decoder rows, W_enc = W_decᵀ, zero biases) and a N(0, 1) batch.
    setBackend('wasm');
    const sae = createSae(saeConfig({ architecture: 'topk', dIn, dSae, k }), { generator: Generator.fromSeed(0) });
    const x = randn([batch, dIn], { generator: Generator.fromSeed(1) });
    const init = { wDec: Float32Array.from(sae.W_dec.data()), x: Float32Array.from(x.data()) };
    const optimizer = new Adam(sae.parameters(), { lr });
    // As the trainer runs it: inside tidy(), so the step's temporaries are freed at its end.
    const phases = { forward: [] as number[], backward: [] as number[], decoderConstraint: [] as number[], optimizer: [] as number[] };
    const glassboxStep = (): number =>
      tidy(() => {
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
        phases.forward.push((t1 - t0) / 1000);
        phases.backward.push((t2 - t1) / 1000);
        phases.decoderConstraint.push((t3 - t2 + t5 - t4) / 1000);
        phases.optimizer.push((t4 - t3) / 1000);
        return out.loss.item();
      });

    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`);
    await tf.setBackend('wasm');
    await tf.ready();
    const tfjs = tfjsSaeStep(init, { batch, dIn, dSae, k, lr });

    const python = findTorchPython();
    const dir = mkdtempSync(join(tmpdir(), 'sae-speed-'));
    let torch: Awaited<ReturnType<typeof startTorch>> | null = null;
    let torchAllCores: Awaited<ReturnType<typeof startTorch>> | null = null;
    let torchNote: string | null = null;
    if (python) {
      writeFileSync(join(dir, 'w_dec.f32'), init.wDec);
      writeFileSync(join(dir, 'x.f32'), init.x);
      torch = await startTorch(python, dir, batch, torchThreads);
      const t = torch.info;
      log(`torch ${t.torch}: ${t.numThreads} intra-op thread(s)${t.threadsForced ? ' (forced)' : ' (default)'}, OMP_NUM_THREADS ${t.ompNumThreads ?? 'unset'}, BLAS ${t.blasLibraries.map((p) => p.split('/').pop()).join(', ') || t.blasInfo}, ${fmt(t.matmulGflops)} GFLOP/s at ${t.matmulShape.join('×')}`);
      if (!t.threadsForced && t.numThreads < t.cpuCount) {
        torchAllCores = await startTorch(python, dir, batch, t.cpuCount);
        log(`torch on all ${t.cpuCount} cores: ${fmt(torchAllCores.info.matmulGflops)} GFLOP/s at ${torchAllCores.info.matmulShape.join('×')}`);
      }
    } else {
      torchNote = 'skipped: no python3 with torch and numpy found (set PYTHON to choose one)';
      log(`torch ${torchNote}`);
    }

    try {
      const runners: Partial<Record<Contender, (n: number) => Promise<StepTimes>>> = {
        glassbox: async (n) => timeSteps(n, glassboxStep),
        'tfjs-wasm': async (n) => timeSteps(n, () => tfjs.step()),
      };
      if (torch) runners.torch = (n) => torch!.run(n);
      if (torchAllCores) runners['torch-all-cores'] = (n) => torchAllCores!.run(n);
      const names = CONTENDERS.filter((c) => runners[c]);
      // The first step of each warms up (kernel compilation, allocation) and gives the loss at the shared start.
      const firstLoss: Partial<Record<Contender, number>> = {};
      for (const name of names) firstLoss[name] = (await runners[name]!(1)).losses[0]!;
      for (const list of Object.values(phases)) list.length = 0;
      log(`loss at the shared start: ${names.map((n) => `${n} ${fmt(firstLoss[n]!, 6)}`).join(', ')}`);
      const samples = Object.fromEntries(names.map((n) => [n, { seconds: [], cpuSeconds: [] } as { seconds: number[]; cpuSeconds: number[] }]));
      for (let r = 0; r < rounds; r++) {
        for (const name of names) {
          const t = await runners[name]!(steps);
          samples[name]!.seconds.push(...t.seconds);
          samples[name]!.cpuSeconds.push(...t.cpuSeconds);
        }
        log(`round ${r + 1}/${rounds}: ${names.map((n) => `${n} ${fmt(median(samples[n]!.seconds.slice(-steps)))} s/step`).join(', ')}`);
      }

      const tokensPerSecond = Object.fromEntries(names.map((n) => [n, batch / median(samples[n]!.seconds)])) as Partial<Record<Contender, number>>;
      const ratio = (other: Contender) => (tokensPerSecond[other] ? tokensPerSecond.glassbox! / tokensPerSecond[other]! : null);
      const vsTorch = ratio('torch');
      const vsTfjs = ratio('tfjs-wasm');
      const vsTorchAllCores = ratio('torch-all-cores');
      // Same weights and batch, so the losses before the first update agree to float32 rounding.
      const reference = firstLoss.glassbox!;
      const lossesAgree = names.every((n) => Math.abs(firstLoss[n]! - reference) <= 1e-3 * Math.abs(reference));
      const targets = {
        vsTorch: { target: TARGET.vsTorch, measured: vsTorch, met: vsTorch === null ? null : vsTorch >= TARGET.vsTorch },
        vsTfjsWasm: { target: TARGET.vsTfjsWasm, measured: vsTfjs, met: vsTfjs !== null && vsTfjs >= TARGET.vsTfjsWasm },
      };
      const glassboxPhases = Object.fromEntries(Object.entries(phases).map(([name, list]) => [name, median(list)])) as Record<keyof typeof phases, number>;
      const encoderGflops = (2 * batch * dIn * dSae) / glassboxPhases.forward / 1e9;
      const seconds = (n: Contender) => median(samples[n]!.seconds);
      const phaseText = `Glassbox's step: forward ${fmt(glassboxPhases.forward)} s (the dense encoder product and the selection: ${fmt(encoderGflops)} GFLOP/s of encoder work), ` +
        `backward ${fmt(glassboxPhases.backward)} s (sparse), Adam ${fmt(glassboxPhases.optimizer)} s, decoder constraint ${fmt(glassboxPhases.decoderConstraint)} s`;
      const torchWhy = torch
        ? `PyTorch takes ${fmt(seconds('torch'))} s per step against Glassbox's ${fmt(seconds('glassbox'))} s: torch's BLAS ran the encoder's shape at ${fmt(torch.info.matmulGflops)} GFLOP/s, ` +
          `Glassbox's forward pass did ${fmt(encoderGflops)} GFLOP/s of encoder work, and the rest of Glassbox's step took ${fmt(seconds('glassbox') - glassboxPhases.forward)} s`
        : '';
      const tfjsWhy = `tfjs-wasm takes ${fmt(seconds('tfjs-wasm'))} s per step against Glassbox's ${fmt(seconds('glassbox'))} s`;
      const threads: Record<Contender, string> = {
        glassbox: `wasm backend, ${wasmThreads()} thread(s) for dense kernels`,
        torch: torch ? `${torch.info.numThreads} intra-op thread(s)${torch.info.threadsForced ? ', forced' : ', default'}` : '—',
        'torch-all-cores': torchAllCores ? `${torchAllCores.info.numThreads} intra-op threads, one per core` : '—',
        'tfjs-wasm': `tfjs ${tf.version_core}, SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, 1 thread`,
      };
      const json = {
        benchmark: 'sae-speed',
        description: saeSpeedBenchmark.description,
        machine,
        config: { ...DIMS, batch, stepsPerRound: steps, rounds, auxK: false, optimizer: 'Adam(0.9, 0.999, eps 1e-8)' },
        torch: torch?.info ?? null,
        torchAllCores: torchAllCores?.info ?? null,
        torchNote,
        contenders: Object.fromEntries(
          names.map((n) => [n, { setup: threads[n], tokensPerSecond: tokensPerSecond[n], medianSecondsPerStep: median(samples[n]!.seconds), firstLoss: firstLoss[n], ...samples[n] }]),
        ),
        glassboxSecondsPerStep: glassboxPhases,
        lossesAgree,
        targets,
      };

      const table = markdownTable(
        ['Contender', 'Setup', 'Median s/step', 'Tokens/s', 'Glassbox / this'],
        CONTENDERS.map((n) =>
          runners[n]
            ? [n, threads[n], fmt(median(samples[n]!.seconds)), fmt(tokensPerSecond[n]!), n === 'glassbox' ? '—' : `${fmt(ratio(n)!)}×`]
            : [n, n === 'torch-all-cores' ? 'not run: torch already uses every core' : (torchNote ?? '—'), '—', '—', '—'],
        ),
        'llrrr',
      );
      const t = torch?.info;
      // torch 1.x defaults to half the logical CPUs on x86-64, taking every other one for a hyperthread.
      const halved = t && !t.threadsForced && t.ompNumThreads === null && t.torch.startsWith('1.') && t.numThreads * 2 === t.cpuCount;
      const torchLine = t
        ? `PyTorch ${t.torch} used ${t.numThreads} intra-op thread(s) (${t.threadsForced ? 'forced by --torch-threads' : 'its default'}; OMP_NUM_THREADS ${t.ompNumThreads ?? 'unset'}, ${t.cpuCount} CPUs` +
          `${halved ? '; torch 1.x sets its default to half the logical CPUs on x86-64, assuming two hyperthreads per core' : ''}), ` +
          `BLAS ${t.blasLibraries.map((p) => `\`${p.split('/').pop()}\``).join(', ') || t.blasInfo}, and measured **${fmt(t.matmulGflops)} GFLOP/s** on a ${t.matmulShape.join('×')} matmul.`
        : `PyTorch: ${torchNote}.`;
      const verdict = (met: boolean | null, text: string, why: string) => `- ${text}: **${met === null ? 'not measured' : met ? 'met' : 'not met'}**${met === false ? ` (${why})` : ''}`;
      const markdown = [
        `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}; batch ${batch}, ` +
          `${rounds} round(s) of ${steps} step(s) after one warm-up step each; 1-minute load average ${machine.loadAverage1m} at the start. Wall-clock medians.`,
        '',
        table,
        '',
        torchLine,
        `${phaseText}.`,
        `Loss before the first update (same weights and batch): ${names.map((n) => `${n} ${fmt(firstLoss[n]!, 6)}`).join(', ')}${lossesAgree ? '' : ' — **they disagree**'}.`,
        '',
        verdict(targets.vsTorch.met, `≥ ${TARGET.vsTorch}× PyTorch CPU (measured ${vsTorch === null ? '—' : `${fmt(vsTorch)}×`})`, torchWhy),
        ...(vsTorchAllCores === null
          ? []
          : [`- Against PyTorch on every core (not the issue's target, which names torch's default threads): ${fmt(vsTorchAllCores)}×`]),
        verdict(targets.vsTfjsWasm.met, `≥ ${TARGET.vsTfjsWasm}× tfjs-backend-wasm (measured ${vsTfjs === null ? '—' : `${fmt(vsTfjs)}×`})`, tfjsWhy),
      ].join('\n');
      return { json, markdown };
    } finally {
      torch?.close();
      torchAllCores?.close();
      tfjs.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
