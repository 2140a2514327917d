/**
 * Modular addition with weight decay: prints train and test accuracy as training goes, to show test
 * accuracy rising long after train accuracy reaches 1 (grokking). Optional key=value arguments:
 *
 *   pnpm exec tsx --conditions=source packages/model/scripts/grokking.ts p=53 steps=3000 runDir=runs/grokking
 */
import { trainModularAddition } from '../src/organisms/modular-addition.ts';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const num = (key: string, fallback: number) => (args[key] === undefined ? fallback : Number(args[key]));

const started = performance.now();
let firstPerfectTrain: number | null = null;
let firstGoodTest: number | null = null;
await trainModularAddition({
  p: num('p', 53),
  trainFraction: num('trainFraction', 0.4),
  steps: num('steps', 3000),
  dModel: num('dModel', 32),
  nHeads: num('nHeads', 4),
  dMlp: num('dMlp', 128),
  lr: num('lr', 3e-3),
  weightDecay: num('weightDecay', 2),
  evalEvery: num('evalEvery', 50),
  seed: num('seed', 0),
  ...(args.runDir ? { runDir: args.runDir } : {}),
  onProgress: (p) => {
    if (!p.eval) return;
    const { trainAccuracy, testAccuracy, trainLoss, testLoss } = p.eval as Record<string, number>;
    if (firstPerfectTrain === null && trainAccuracy === 1) firstPerfectTrain = p.step;
    if (firstGoodTest === null && testAccuracy! >= 0.95) firstGoodTest = p.step;
    console.log(
      `step ${p.step} train ${trainAccuracy!.toFixed(3)} (${trainLoss!.toFixed(3)}) test ${testAccuracy!.toFixed(3)} (${testLoss!.toFixed(3)}) ${p.elapsedSeconds.toFixed(0)} s, eta ${p.etaSeconds.toFixed(0)} s`,
    );
  },
});
console.log(JSON.stringify({ seconds: Math.round((performance.now() - started) / 1000), firstPerfectTrain, firstGoodTest }));
