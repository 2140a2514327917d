import { Generator, type Tensor, ValueError, tensor } from '@glassbox/tensor';
import { type TransformerConfigInput, configToJSON } from '../config.ts';
import { HookedTransformer } from '../hooked-transformer.ts';
import { type TrainProgress, type TrainResult, Trainer } from '../train/trainer.ts';
import { lastTokenLoss, lastTokenMetrics } from './classification.ts';

export interface ModularAdditionData {
  p: number;
  /** int32 [n_train, 3]: a, b, and the '=' token (id p). */
  trainTokens: Tensor;
  /** int32 [n_train]: (a + b) mod p. */
  trainLabels: Tensor;
  testTokens: Tensor;
  testLabels: Tensor;
}

/**
 * Every pair (a, b) in [0, p)², as the sequence a b =, labelled (a + b) mod p, split at random
 * (seeded) into a train set of round(trainFraction · p²) pairs and a test set of the rest.
 */
export function modularAdditionData(options: { p: number; trainFraction: number; seed?: number }): ModularAdditionData {
  const op = 'modularAdditionData';
  const { p, trainFraction, seed = 0 } = options;
  if (!Number.isInteger(p) || p < 2) throw new ValueError('invalid `p`', { op, arg: 'p', expected: 'an integer >= 2', given: String(p) });
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new ValueError('invalid `trainFraction`', { op, arg: 'trainFraction', expected: 'a number in (0, 1)', given: String(trainFraction) });
  }
  const order = Generator.fromSeed(seed).permutation(p * p);
  const nTrain = Math.round(trainFraction * p * p);
  const build = (pairs: Int32Array) => {
    const tokens = new Int32Array(pairs.length * 3);
    const labels = new Int32Array(pairs.length);
    pairs.forEach((pair, i) => {
      const a = Math.floor(pair / p);
      const b = pair % p;
      tokens.set([a, b, p], i * 3);
      labels[i] = (a + b) % p;
    });
    return { tokens: tensor(tokens, { shape: [pairs.length, 3] }), labels: tensor(labels) };
  };
  const train = build(order.subarray(0, nTrain));
  const test = build(order.subarray(nTrain));
  return { p, trainTokens: train.tokens, trainLabels: train.labels, testTokens: test.tokens, testLabels: test.labels };
}

/**
 * Nanda et al.'s grokking model: one layer, ReLU MLP, no normalisation, vocabulary p + 1 (the
 * numbers and '='), p outputs, context 3.
 */
export function modularAdditionConfig(options: { p: number; dModel?: number; nHeads?: number; dMlp?: number; seed?: number }): TransformerConfigInput {
  const dModel = options.dModel ?? 128;
  return {
    nLayers: 1,
    dModel,
    nHeads: options.nHeads ?? 4,
    dMlp: options.dMlp ?? 4 * dModel,
    dVocab: options.p + 1,
    dVocabOut: options.p,
    nCtx: 3,
    actFn: 'relu',
    normalizationType: null,
    seed: options.seed ?? 0,
  };
}

export interface TrainModularAdditionOptions {
  p: number;
  trainFraction: number;
  steps: number;
  dModel?: number;
  nHeads?: number;
  dMlp?: number;
  /** Full-batch AdamW; defaults lr 1e-3, weight decay 1, betas (0.9, 0.98), constant after 10 warmup steps. */
  lr?: number;
  weightDecay?: number;
  betas?: readonly [number, number];
  evalEvery?: number;
  seed?: number;
  runDir?: string;
  onProgress?: (progress: TrainProgress) => void;
  /** Stops training before the next step when aborted. */
  signal?: AbortSignal;
}

/** Train and test loss and accuracy after `step` optimizer steps. */
export interface ModularAdditionEval {
  step: number;
  trainLoss: number;
  testLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
}

/**
 * Trains on the train split, full batch, evaluating on both splits every `evalEvery` steps. With
 * enough weight decay, test accuracy rises long after train accuracy reaches 1 (grokking):
 * {@link grokkingSteps} reads that off `history`.
 */
export async function trainModularAddition(
  options: TrainModularAdditionOptions,
): Promise<{ model: HookedTransformer; data: ModularAdditionData; result: TrainResult; history: ModularAdditionEval[] }> {
  const seed = options.seed ?? 0;
  const data = modularAdditionData({ p: options.p, trainFraction: options.trainFraction, seed });
  const model = new HookedTransformer(modularAdditionConfig({ ...options, seed }));
  const history: ModularAdditionEval[] = [];
  const trainer = new Trainer({
    model,
    nextBatch: () => data.trainTokens,
    loss: (m, tokens: Tensor) => lastTokenLoss(m, tokens, data.trainLabels),
    steps: options.steps,
    seed,
    lr: options.lr ?? 1e-3,
    weightDecay: options.weightDecay ?? 1,
    betas: options.betas ?? [0.9, 0.98],
    warmupSteps: Math.min(10, options.steps),
    schedule: 'constant',
    evalEvery: options.evalEvery ?? Math.max(1, Math.floor(options.steps / 50)),
    evaluate: (m, step) => {
      const train = lastTokenMetrics(m, data.trainTokens, data.trainLabels);
      const test = lastTokenMetrics(m, data.testTokens, data.testLabels);
      const metrics = { trainLoss: train.loss, testLoss: test.loss, trainAccuracy: train.accuracy, testAccuracy: test.accuracy };
      history.push({ step, ...metrics });
      return metrics;
    },
    config: { model: configToJSON(model.cfg), p: options.p, trainFraction: options.trainFraction },
    ...(options.runDir ? { runDir: options.runDir } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { model, data, result: await trainer.run(), history };
}

export interface GrokkingSteps {
  /** The first evaluated step with train accuracy >= trainThreshold, or null. */
  trainStep: number | null;
  /** The first evaluated step with test accuracy >= testThreshold, or null. */
  testStep: number | null;
  /** Test accuracy at `trainStep` (null without one). */
  testAccuracyAtTrainStep: number | null;
  /**
   * Whether test accuracy reached its threshold at least `minDelay` times as many steps as train
   * accuracy took, having been below 0.5 when train accuracy reached its threshold.
   */
  grokked: boolean;
}

/**
 * When train and test accuracy first reach their thresholds (defaults 0.99 and 0.95) in an
 * evaluation history, and whether the test step came long after the train step (grokking) rather
 * than with it.
 */
export function grokkingSteps(
  history: readonly ModularAdditionEval[],
  options: { trainThreshold?: number; testThreshold?: number; minDelay?: number } = {},
): GrokkingSteps {
  const { trainThreshold = 0.99, testThreshold = 0.95, minDelay = 2 } = options;
  const atTrain = history.find((e) => e.trainAccuracy >= trainThreshold);
  const atTest = history.find((e) => e.testAccuracy >= testThreshold);
  const trainStep = atTrain?.step ?? null;
  const testStep = atTest?.step ?? null;
  const testAccuracyAtTrainStep = atTrain?.testAccuracy ?? null;
  const grokked = trainStep !== null && testStep !== null && testStep >= minDelay * trainStep && testAccuracyAtTrainStep! < 0.5;
  return { trainStep, testStep, testAccuracyAtTrainStep, grokked };
}
