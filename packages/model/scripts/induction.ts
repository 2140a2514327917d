/**
 * Trains the induction organism at its full size, printing progress, until an induction head has
 * formed (a layer-1 head scoring above 0.4 and second-half loss below 1 nat on repeated random
 * tokens; `untilFormed=0` trains all steps), then prints the final metrics. Optional arguments
 * override the defaults as key=value:
 *
 *   pnpm exec tsx --conditions=source packages/model/scripts/induction.ts steps=1000 runDir=/tmp/induction
 */
import { trainInduction } from '../src/organisms/induction.ts';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const num = (key: string, fallback: number) => (args[key] === undefined ? fallback : Number(args[key]));

const controller = new AbortController();
const untilFormed = num('untilFormed', 1) !== 0;
const started = performance.now();
const { report, result } = await trainInduction({
  dModel: num('dModel', 64),
  nHeads: num('nHeads', 4),
  nCtx: num('nCtx', 65),
  dVocab: num('dVocab', 64),
  batch: num('batch', 32),
  steps: num('steps', 1000),
  lr: num('lr', 2e-2),
  evalEvery: num('evalEvery', 50),
  signal: controller.signal,
  seed: num('seed', 0),
  language: { minSegment: num('minSegment', 8) },
  ...(args.runDir ? { runDir: args.runDir } : {}),
  onProgress: (p) => {
    if (p.eval || p.step % 25 === 0) {
      const evalText = p.eval ? ` | induction ${p.eval.inductionScore!.toFixed(2)}, halves ${p.eval.firstHalfLoss!.toFixed(2)} / ${p.eval.secondHalfLoss!.toFixed(2)}` : '';
      console.log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} lr ${p.lr.toExponential(1)} ${Math.round(p.tokensPerSecond)} tok/s eta ${p.etaSeconds.toFixed(0)} s${evalText}`);
    }
    if (untilFormed && p.eval && p.eval.inductionScore! > 0.4 && p.eval.secondHalfLoss! < 1) controller.abort();
  },
});
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds: Math.round(seconds), steps: result.step, bestInductionHead: report.bestInductionHead, firstHalfLoss: report.firstHalfLoss, secondHalfLoss: report.secondHalfLoss }, null, 2));
