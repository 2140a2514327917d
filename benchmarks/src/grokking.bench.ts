/**
 * Grokking on modular addition (Power et al. 2022; Nanda et al. 2023): a one-layer transformer
 * trained full batch with AdamW and strong weight decay on 40% of the pairs (a, b) in [0, 53)²,
 * labelled (a + b) mod 53, on the default (wasm) backend. Train accuracy reaches 1 within a few
 * hundred steps; test accuracy stays low for a long stretch and rises much later. Records train
 * and test loss and accuracy every few steps, the first step at which train accuracy reaches 99%
 * and test accuracy 95%, and the wall time, and says whether grokking was observed.
 *
 * Options (after the benchmark name): `--steps=N` (default 3000), `--eval-every=N` (default 50).
 */

import { type GrokkingSteps, type ModularAdditionEval, grokkingSteps, trainModularAddition } from '../../packages/model/src/index.ts';
import { getBackend, wasmThreads } from '../../packages/tensor/src/index.ts';
import { type Benchmark, type Machine, describeMachine, fmt, markdownTable, integerOption } from './harness.ts';

const SETUP = { p: 53, trainFraction: 0.4, dModel: 32, nHeads: 4, dMlp: 128, lr: 3e-3, weightDecay: 2, betas: [0.9, 0.98], seed: 0 } as const;
const THRESHOLDS = { trainThreshold: 0.99, testThreshold: 0.95, minDelay: 2 } as const;
/** Rows of the curve shown in the README (the results file has every evaluation). */
const CURVE_ROWS = 12;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** Losses fall to 1e-7 once memorised or grokked: exponent form below 0.01. */
const lossText = (x: number) => (x < 0.01 ? x.toExponential(2) : fmt(x));

/** About `rows` evaluations spread evenly over the run, always including the two threshold steps and the last. */
function curveSample(history: readonly ModularAdditionEval[], rows: number, marks: readonly (number | null)[]): ModularAdditionEval[] {
  const stride = Math.max(1, Math.round(history.length / rows));
  return history.filter((e, i) => i % stride === stride - 1 || i === history.length - 1 || marks.includes(e.step));
}

interface GrokkingResult extends GrokkingSteps {
  machine: Machine;
  backend: string;
  wasmThreads: number | null;
  setup: typeof SETUP & { steps: number; evalEvery: number; nTrain: number; nTest: number; parameters: number };
  thresholds: typeof THRESHOLDS;
  ratio: number | null;
  wallSeconds: number;
  cpuSeconds: number;
  msPerStepWall: number;
  history: ModularAdditionEval[];
}

/** The README section for a result (also usable on a saved results/grokking.json). */
export function grokkingMarkdown(r: GrokkingResult): string {
  const { machine, setup, history } = r;
  const last = history.at(-1);
  const verdict = r.grokked
    ? `**Grokking observed**: train accuracy reached 99% at step ${r.trainStep}, when test accuracy was ${pct(r.testAccuracyAtTrainStep!)}; ` +
      `test accuracy reached 95% only at step ${r.testStep}, ${fmt(r.ratio!)}× as many steps.`
    : `**Grokking not observed** in ${setup.steps} steps: ` +
      (r.trainStep === null
        ? 'train accuracy never reached 99%.'
        : r.testStep === null
          ? `train accuracy reached 99% at step ${r.trainStep}, but test accuracy never reached 95% (last ${pct(last?.testAccuracy ?? 0)}).`
          : `test accuracy reached 95% at step ${r.testStep}, too soon after train accuracy reached 99% at step ${r.trainStep} (test accuracy then ${pct(r.testAccuracyAtTrainStep!)}) to count as delayed.`);
  const table = markdownTable(
    ['Step', 'Train accuracy', 'Test accuracy', 'Train loss', 'Test loss'],
    curveSample(history, CURVE_ROWS, [r.trainStep, r.testStep]).map((e) => [String(e.step), pct(e.trainAccuracy), pct(e.testAccuracy), lossText(e.trainLoss), lossText(e.testLoss)]),
    'rrrrr',
  );
  return [
    `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${r.backend} backend` +
      `${r.wasmThreads !== null ? ` (${r.wasmThreads} threads)` : ''}; 1-minute load average ${machine.loadAverage1m} at the start.`,
    '',
    `p = ${setup.p}, ${pct(setup.trainFraction)} of the ${setup.p ** 2} pairs for training (full batch); one layer, d_model ${setup.dModel}, ` +
      `${setup.nHeads} heads, d_mlp ${setup.dMlp}, ReLU, no LayerNorm (${setup.parameters} parameters); AdamW lr ${setup.lr}, weight decay ${setup.weightDecay}, ` +
      `betas (${setup.betas.join(', ')}), seed ${setup.seed}; ${setup.steps} steps, evaluated every ${setup.evalEvery}.`,
    '',
    table,
    '',
    `Wall time ${fmt(r.wallSeconds)} s (${fmt(r.msPerStepWall)} ms per step, evaluations included; CPU time ${fmt(r.cpuSeconds)} s). ` +
      `\`results/grokking.json\` holds every evaluation.`,
    '',
    verdict,
  ].join('\n');
}

export const grokkingBenchmark: Benchmark = {
  name: 'grokking',
  description: 'modular addition (p = 53): test accuracy rising long after train accuracy reaches 100%',
  async run(log) {
    const steps = integerOption('steps', 3000);
    const evalEvery = integerOption('eval-every', 50);
    const machine = describeMachine();
    const backend = getBackend().name;
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const { history, model } = await trainModularAddition({
      ...SETUP,
      steps,
      evalEvery,
      onProgress: (p) => {
        if (!p.eval) return;
        const e = p.eval as Record<string, number>;
        log(
          `step ${p.step}: train ${pct(e.trainAccuracy!)} (loss ${lossText(e.trainLoss!)}), test ${pct(e.testAccuracy!)} (loss ${lossText(e.testLoss!)}), ${p.elapsedSeconds.toFixed(0)} s`,
        );
      },
    });
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const found = grokkingSteps(history, THRESHOLDS);
    const nTrain = Math.round(SETUP.trainFraction * SETUP.p ** 2);
    const json: GrokkingResult = {
      machine,
      backend,
      wasmThreads: backend === 'wasm' ? wasmThreads() : null,
      setup: { ...SETUP, steps, evalEvery, nTrain, nTest: SETUP.p ** 2 - nTrain, parameters: model.parameters().reduce((n, t) => n + t.size, 0) },
      thresholds: THRESHOLDS,
      ...found,
      ratio: found.trainStep !== null && found.testStep !== null ? found.testStep / found.trainStep : null,
      wallSeconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      msPerStepWall: (1000 * wallSeconds) / steps,
      history,
    };
    return { json, markdown: grokkingMarkdown(json) };
  },
};
