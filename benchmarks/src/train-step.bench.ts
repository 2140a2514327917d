/**
 * One training step (forward, backward, AdamW) of a 2-layer attention-only transformer (d_model
 * 128, 4 heads of 32, n_ctx 64, d_vocab 512, batch 32): Glassbox's HookedTransformer on the wasm
 * backend against the same architecture written by hand in TensorFlow.js on
 * @tensorflow/tfjs-backend-wasm, from the same initial weights, on the same batch, timed round-robin.
 *
 * Options (after the benchmark name): `--steps=N` timed steps per contender (default 20),
 * `--warmup=N` untimed steps first (default 3).
 */

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { HookedTransformer } from '../../packages/model/src/index.ts';
import { AdamW, type Tensor, setBackend, setWasmThreads, tensor, tidy, wasmThreads } from '../../packages/tensor/src/index.ts';
import { hasRelaxedSimd } from '../../packages/tensor/src/backends/wasm/index.ts';
import { type Benchmark, type Timing, describeMachine, fmt, markdownTable, timeInterleaved, integerOption } from './harness.ts';
import { type AttnOnlyConfig, type TfjsAttnOnly, type Weights, tfjsAttnOnly } from './tfjs-attn-only.ts';

const CONFIG = { nLayers: 2, dModel: 128, nHeads: 4, dHead: 32, nCtx: 64, dVocab: 512 } as const;
const BATCH = 32;
const ADAMW = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 };
const TARGET = 1.5;
const TFJS = 'tfjs-wasm ×1';
const TFJS_EXPLICIT = 'tfjs-wasm ×1, explicit transposes';
type TfjsVariant = typeof TFJS | typeof TFJS_EXPLICIT;
const TFJS_VARIANTS: readonly TfjsVariant[] = [TFJS, TFJS_EXPLICIT];
/** Steps of each model, from the same weights, whose losses must fall and agree. */
const SANITY_STEPS = 5;

/** Token ids in [0, dVocab), from a fixed LCG so that every run sees the same batch. */
function randomTokens(count: number, vocab: number, seed: number): Int32Array {
  const out = new Int32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % vocab;
  }
  return out;
}

function glassboxStep(model: HookedTransformer, optimizer: AdamW, tokens: Tensor): () => number {
  return () =>
    tidy(() => {
      const loss = model.loss(tokens);
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
      return loss.item();
    });
}

/** The Glassbox state dict as plain arrays, for the tfjs model to start from. */
function weightsOf(model: HookedTransformer): Weights {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(t.data()) }]));
}

interface Row {
  label: string;
  glassbox: string;
  tfjs: string;
  /** 'cpu' for single-threaded pairs (CPU time), 'wall' once either side uses threads. */
  clock: 'cpu' | 'wall';
  glassboxMs: number;
  tfjsMs: number;
  /** tfjs time over Glassbox time: above 1 means Glassbox is faster. */
  speedup: number;
}

export const trainStepBenchmark: Benchmark = {
  name: 'train-step',
  description: 'training step (forward, backward, AdamW) of a 2-layer attention-only transformer: Glassbox wasm vs tfjs-backend-wasm',
  async run(log) {
    const steps = integerOption('steps', 20);
    const warmup = integerOption('warmup', 3);
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`);
    // Only read at initialisation; tfjs-backend-wasm has no threaded build under Node, so this is
    // one thread either way, but it is said explicitly.
    setThreadsCount(1);
    await tf.setBackend('wasm');
    await tf.ready();
    const tfjsThreads = getThreadsCount();
    const tfjsSimd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const tfjsMultithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    setBackend('wasm');
    const machine = describeMachine();
    const maxThreads = wasmThreads();

    const model = new HookedTransformer({ ...CONFIG, attnOnly: true, seed: 0 });
    const { eps, positionalEmbeddingType, normalizationType, attnBias } = model.cfg;
    const params = model.parameters();
    const optimizer = new AdamW(params, { lr: ADAMW.lr, betas: [ADAMW.beta1, ADAMW.beta2], eps: ADAMW.eps, weightDecay: ADAMW.weightDecay });
    const ids = randomTokens(BATCH * CONFIG.nCtx, CONFIG.dVocab, 12345);
    const gbTokens = tensor(ids, { shape: [BATCH, CONFIG.nCtx], dtype: 'int32' });
    const tfTokens = tf.tensor2d(ids, [BATCH, CONFIG.nCtx], 'int32');
    const tfCfg: AttnOnlyConfig = { ...CONFIG, eps };
    const initial = weightsOf(model);
    // tfjs with its own gradients, as tf.variableGrads gives them, and with the transposed
    // gradient matmuls replaced by explicit transposes, a workaround a tfjs user could write.
    const tfModels: Record<TfjsVariant, TfjsAttnOnly> = {
      [TFJS]: tfjsAttnOnly(tfCfg, initial, ADAMW, { name: 'tfjs' }),
      [TFJS_EXPLICIT]: tfjsAttnOnly(tfCfg, initial, ADAMW, { name: 'tfjs-explicit', explicitTransposes: true }),
    };
    const gbCount = params.reduce((n, p) => n + p.size, 0);
    const tfCount = tfModels[TFJS].parameterCount;
    log(`parameters: Glassbox ${gbCount}, tfjs ${tfCount}`);

    // Sanity: same weights, same batch, same optimizer, so the losses must start near ln(d_vocab)
    // (plus the spread of the initial logits), fall, and agree step by step.
    setWasmThreads(1);
    const gbStep = glassboxStep(model, optimizer, gbTokens);
    const losses: Record<string, number[]> = { glassbox: [], [TFJS]: [], [TFJS_EXPLICIT]: [] };
    for (let i = 0; i < SANITY_STEPS; i++) {
      losses.glassbox!.push(gbStep());
      for (const variant of TFJS_VARIANTS) losses[variant]!.push(tfModels[variant].trainStep(tfTokens));
    }
    losses.glassbox!.push(tidy(() => model.loss(gbTokens).item()));
    for (const variant of TFJS_VARIANTS) losses[variant]!.push(tfModels[variant].loss(tfTokens));
    const lnVocab = Math.log(CONFIG.dVocab);
    const gbLosses = losses.glassbox!;
    const all = Object.values(losses);
    const maxLossGap = Math.max(...all.flatMap((ls) => ls.map((l, i) => Math.abs(l - gbLosses[i]!))));
    const sanity = {
      lnVocab,
      losses,
      maxLossGap,
      initialNearLnVocab: all.every((ls) => Math.abs(ls[0]! - lnVocab) < 1),
      allDecrease: all.every((ls) => ls.at(-1)! < ls[0]! - 0.01),
      agree: maxLossGap < 1e-2,
    };
    for (const [name, ls] of Object.entries(losses)) log(`losses over ${SANITY_STEPS} steps, ${name}: ${ls.map((l) => l.toFixed(4)).join(' ')}`);
    if (!sanity.initialNearLnVocab || !sanity.allDecrease || !sanity.agree || gbCount !== tfCount) {
      throw new Error(`train-step: sanity check failed ${JSON.stringify({ ...sanity, gbCount, tfCount })}`);
    }

    const contenders: Record<string, () => void> = {
      'glassbox ×1': () => {
        setWasmThreads(1);
        gbStep();
      },
    };
    for (const variant of TFJS_VARIANTS) {
      contenders[variant] = () => {
        tfModels[variant].trainStep(tfTokens);
      };
    }
    if (maxThreads > 1) {
      contenders[`glassbox ×${maxThreads}`] = () => {
        setWasmThreads(maxThreads);
        gbStep();
      };
    }
    log(`timing ${Object.keys(contenders).join(', ')}: ${warmup} warm-up and ${steps} timed steps each`);
    const timings = timeInterleaved(contenders, { warmup, reps: steps });
    setWasmThreads(maxThreads);
    const ms = (t: Timing, clock: 'cpu' | 'wall') => 1000 * (clock === 'cpu' ? t.medianCpuSeconds : t.medianSeconds);
    const tokensPerStep = BATCH * CONFIG.nCtx;
    for (const [name, t] of Object.entries(timings)) {
      log(`  ${name}: ${fmt(ms(t, 'wall'))} ms wall, ${fmt(ms(t, 'cpu'))} ms CPU, ${fmt(tokensPerStep / t.medianSeconds)} tokens/s`);
    }
    const row = (glassbox: string, tfjs: string, clock: 'cpu' | 'wall'): Row => {
      const g = ms(timings[glassbox]!, clock);
      const t = ms(timings[tfjs]!, clock);
      return { label: `${glassbox} vs ${tfjs}`, glassbox, tfjs, clock, glassboxMs: g, tfjsMs: t, speedup: t / g };
    };
    const rows = TFJS_VARIANTS.map((variant) => row('glassbox ×1', variant, 'cpu'));
    if (maxThreads > 1) for (const variant of TFJS_VARIANTS) rows.push(row(`glassbox ×${maxThreads}`, variant, 'wall'));
    const [main, explicit] = rows as [Row, Row];
    const wallMain = row('glassbox ×1', TFJS, 'wall');
    const target = {
      target: TARGET,
      measured: main.speedup,
      measuredWallClock: wallMain.speedup,
      met: main.speedup >= TARGET,
      measuredAgainstExplicitTransposes: explicit.speedup,
      metAgainstExplicitTransposes: explicit.speedup >= TARGET,
    };
    const tfjsThreadNote = tfjsMultithread
      ? `tfjs-backend-wasm runs ${tfjsThreads} thread(s)`
      : 'tfjs-backend-wasm runs single-threaded under Node: its WASM_HAS_MULTITHREAD_SUPPORT flag is false there, and forcing it on fails ' +
        "because Node's worker_threads cannot start the blob: URL workers of its threaded build (ERR_WORKER_PATH), so the threaded row compares against one tfjs thread";

    const json = {
      benchmark: 'train-step',
      description: trainStepBenchmark.description,
      machine,
      settings: {
        config: { ...CONFIG, attnOnly: true, positionalEmbeddingType, normalizationType, attnBias, eps },
        batch: BATCH,
        tokensPerStep,
        adamw: ADAMW,
        warmup,
        steps,
        glassboxContenders: Object.keys(timings).filter((n) => n.startsWith('glassbox')),
        relaxedSimd: hasRelaxedSimd(),
        tfjsVersion: tf.version_core,
        tfjsWasmSimd: tfjsSimd,
        tfjsWasmThreads: tfjsThreads,
        tfjsWasmMultithreadSupport: tfjsMultithread,
        tfjsWasmThreading: tfjsThreadNote,
      },
      parameterCount: { glassbox: gbCount, tfjs: tfCount, equal: gbCount === tfCount },
      sanity,
      timings: Object.fromEntries(
        Object.entries(timings).map(([name, t]) => [
          name,
          { msPerStepWall: ms(t, 'wall'), msPerStepCpu: ms(t, 'cpu'), tokensPerSecond: tokensPerStep / t.medianSeconds, ...t },
        ]),
      ),
      rows,
      target,
    };

    const table = markdownTable(
      ['Contenders', 'clock', 'Glassbox ms/step', 'tfjs ms/step', 'Glassbox tokens/s', 'tfjs tokens/s', 'Glassbox speed-up'],
      rows.map((r) => [
        r.label,
        r.clock === 'cpu' ? 'CPU time' : 'wall clock',
        fmt(r.glassboxMs),
        fmt(r.tfjsMs),
        fmt((1000 * tokensPerStep) / r.glassboxMs),
        fmt((1000 * tokensPerStep) / r.tfjsMs),
        `${fmt(r.speedup)}×`,
      ]),
      'llrrrrr',
    );
    const markdown = [
      `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}; tfjs ${tf.version_core}, ` +
        `tfjs-wasm SIMD ${tfjsSimd ? 'on' : 'off'}; Glassbox relaxed SIMD ${hasRelaxedSimd() ? 'on' : 'off'}; 1-minute load average ${machine.loadAverage1m} at the start. ` +
        `Medians of ${steps} steps per contender after ${warmup} warm-up steps, round-robin; ${tokensPerStep} tokens per step.`,
      '',
      table,
      '',
      `Parameters: Glassbox ${gbCount}, tfjs ${tfCount} (${gbCount === tfCount ? 'equal' : 'NOT equal'}). ` +
        `Losses over ${SANITY_STEPS} steps from the same weights (ln ${CONFIG.dVocab} = ${lnVocab.toFixed(3)}): ` +
        `Glassbox ${gbLosses.map((l) => l.toFixed(3)).join(' → ')}; both tfjs variants agree with it to ${maxLossGap.toExponential(1)}.`,
      '',
      `Single-threaded rows are on CPU time (wall clock: Glassbox ${fmt(wallMain.glassboxMs)} ms, tfjs ${fmt(wallMain.tfjsMs)} ms, ${fmt(wallMain.speedup)}×). ${tfjsThreadNote}.`,
      '',
      `- Training step ≥ ${TARGET}× faster than tfjs-backend-wasm, one thread each (measured ${fmt(main.speedup)}×): **${target.met ? 'met' : 'not met'}**`,
      `- The same against tfjs with explicit transposes (measured ${fmt(explicit.speedup)}×): **${target.metAgainstExplicitTransposes ? 'met' : 'not met'}**`,
    ].join('\n');
    for (const m of Object.values(tfModels)) m.dispose();
    tfTokens.dispose();
    return { json, markdown };
  },
};
