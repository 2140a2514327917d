/**
 * The induction organism at full size: a 2-layer attention-only transformer (d_model 64, 4 heads,
 * context 65, vocabulary 64) trained from scratch on the default (wasm) backend until an induction
 * head has formed, as the model organism's acceptance asks: on repeated random tokens a layer-1 head
 * scores above 0.4 and the second half's loss falls below 1 nat while the first half's stays near
 * ln(vocab). Records every evaluation, the step and wall time at which the head formed, and whether
 * that was within 3 minutes.
 *
 * Options (after the benchmark name): `--steps=N` (default 1000, an upper bound: training stops once
 * the head has formed), `--eval-every=N` (default 25).
 */

import { trainInduction } from '../../packages/model/src/index.ts';
import { getBackend, wasmThreads } from '../../packages/tensor/src/index.ts';
import { type Benchmark, type Machine, describeMachine, fmt, markdownTable, integerOption } from './harness.ts';

const SETUP = { dModel: 64, nHeads: 4, nCtx: 65, dVocab: 64, batch: 32, lr: 2e-2, seed: 0, minSegment: 8 } as const;
const FORMED = { inductionScore: 0.4, secondHalfLoss: 1 } as const;
const TARGET_SECONDS = 180;

interface Evaluation {
  step: number;
  seconds: number;
  inductionScore: number;
  firstHalfLoss: number;
  secondHalfLoss: number;
}

interface InductionResult {
  machine: Machine;
  backend: string;
  wasmThreads: number | null;
  setup: typeof SETUP & { steps: number; evalEvery: number; parameters: number };
  formed: typeof FORMED;
  /** The first evaluation meeting both criteria, or null. */
  formedAt: Evaluation | null;
  targetSeconds: number;
  cpuSeconds: number;
  lnVocab: number;
  history: Evaluation[];
}

const isFormed = (e: Evaluation) => e.inductionScore > FORMED.inductionScore && e.secondHalfLoss < FORMED.secondHalfLoss;

export function inductionMarkdown(r: InductionResult): string {
  const { machine, setup, formedAt } = r;
  const table = markdownTable(
    ['Step', 'Seconds', 'Best layer-1 induction score', 'First-half loss', 'Second-half loss'],
    r.history.map((e) => [String(e.step), fmt(e.seconds), fmt(e.inductionScore), fmt(e.firstHalfLoss), fmt(e.secondHalfLoss)]),
    'rrrrr',
  );
  const verdict = formedAt
    ? `An induction head formed at step ${formedAt.step}, after ${fmt(formedAt.seconds)} s: score ${fmt(formedAt.inductionScore)}, ` +
      `second-half loss ${fmt(formedAt.secondHalfLoss)} nat against ${fmt(formedAt.firstHalfLoss)} on the first half (ln ${setup.dVocab} = ${fmt(r.lnVocab)}). ` +
      `Target ≤ ${r.targetSeconds} s: **${formedAt.seconds <= r.targetSeconds ? 'met' : 'not met'}**.`
    : `**No induction head formed** in ${setup.steps} steps (target ≤ ${r.targetSeconds} s: not met).`;
  return [
    `Measured ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ${r.backend} backend` +
      `${r.wasmThreads !== null ? ` (${r.wasmThreads} threads)` : ''}; 1-minute load average ${machine.loadAverage1m} at the start.`,
    '',
    `2-layer attention-only transformer, d_model ${setup.dModel}, ${setup.nHeads} heads, context ${setup.nCtx}, vocabulary ${setup.dVocab} ` +
      `(${setup.parameters} parameters), batch ${setup.batch}, AdamW lr ${setup.lr}, seed ${setup.seed}; evaluated every ${setup.evalEvery} steps ` +
      'on 32 sequences of repeated random tokens (seconds include the evaluations).',
    '',
    table,
    '',
    `${verdict} CPU time ${fmt(r.cpuSeconds)} s. \`results/induction.json\` holds every evaluation.`,
  ].join('\n');
}

export const inductionBenchmark: Benchmark = {
  name: 'induction',
  description: 'the full-size induction organism trained from scratch until its induction head forms',
  async run(log) {
    const steps = integerOption('steps', 1000);
    const evalEvery = integerOption('eval-every', 25);
    const machine = describeMachine();
    const backend = getBackend().name;
    const controller = new AbortController();
    const history: Evaluation[] = [];
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const { model } = await trainInduction({
      ...SETUP,
      steps,
      evalEvery,
      language: { minSegment: SETUP.minSegment },
      signal: controller.signal,
      onProgress: (p) => {
        if (!p.eval) return;
        const e = p.eval as Record<string, number>;
        const evaluation = { step: p.step, seconds: (performance.now() - started) / 1000, inductionScore: e.inductionScore!, firstHalfLoss: e.firstHalfLoss!, secondHalfLoss: e.secondHalfLoss! };
        history.push(evaluation);
        log(`step ${p.step}: induction ${fmt(evaluation.inductionScore)}, halves ${fmt(evaluation.firstHalfLoss)} / ${fmt(evaluation.secondHalfLoss)}, ${evaluation.seconds.toFixed(0)} s`);
        if (isFormed(evaluation)) controller.abort();
      },
    });
    const cpu = process.cpuUsage(cpuStart);
    const json: InductionResult = {
      machine,
      backend,
      wasmThreads: backend === 'wasm' ? wasmThreads() : null,
      setup: { ...SETUP, steps, evalEvery, parameters: model.parameters().reduce((n, t) => n + t.size, 0) },
      formed: FORMED,
      formedAt: history.find(isFormed) ?? null,
      targetSeconds: TARGET_SECONDS,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      lnVocab: Math.log(SETUP.dVocab),
      history,
    };
    return { json, markdown: inductionMarkdown(json) };
  },
};
