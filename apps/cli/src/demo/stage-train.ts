import { join } from 'node:path';
import type { ProgressReporter } from '@glassbox/core';
import { type HookedTransformer, inductionReport, listCheckpoints, repeatedRandomTokens, trainInduction } from '@glassbox/model';
import { Generator } from '@glassbox/tensor';
import { loadModel } from '../load-model.ts';
import { DEMO_ORGANISM, EVAL_BATCH } from './demo-config.ts';

export interface CheckpointScores {
  step: number;
  /** [layer][head] induction scores on repeated random tokens. */
  induction: number[][];
  /** [layer][head] previous-token scores. */
  previousToken: number[][];
  firstHalfLoss: number;
  secondHalfLoss: number;
}

export interface TrainStage {
  model: HookedTransformer;
  trainDir: string;
  /** Training loss per step. */
  losses: number[];
  checkpoints: CheckpointScores[];
}

/** Trains the induction organism with checkpoints, then scores every head at every checkpoint. */
export async function trainStage(options: { runPath: string; seed: number; progress: ProgressReporter; signal: AbortSignal }): Promise<TrainStage> {
  const trainDir = join(options.runPath, 'train');
  options.progress.start('train the induction organism', DEMO_ORGANISM.steps, { unit: 'step' });
  const losses: number[] = [];
  const { model } = await trainInduction({
    ...DEMO_ORGANISM,
    seed: options.seed,
    runDir: trainDir,
    signal: options.signal,
    onProgress: (p) => {
      losses.push(p.loss);
      options.progress.tick(1, { loss: p.loss, ...(p.eval?.inductionScore === undefined ? {} : { induction: p.eval.inductionScore }) });
    },
  });
  options.progress.finish();

  const halfLen = Math.floor((DEMO_ORGANISM.nCtx - 1) / 2);
  const evalTokens = repeatedRandomTokens(Generator.fromSeed(options.seed + 100), { batch: EVAL_BATCH, halfLen, dVocab: DEMO_ORGANISM.dVocab });
  const saved = await listCheckpoints(join(trainDir, 'checkpoints'));
  options.progress.start('score heads at each checkpoint', saved.length, { unit: 'checkpoint' });
  const checkpoints: CheckpointScores[] = [];
  for (const { step, path } of saved) {
    const report = inductionReport((await loadModel(path)).model, evalTokens);
    checkpoints.push({ step, induction: report.inductionScores, previousToken: report.prevTokenScores, firstHalfLoss: report.firstHalfLoss, secondHalfLoss: report.secondHalfLoss });
    options.progress.tick();
  }
  options.progress.finish();
  return { model, trainDir, losses, checkpoints };
}
