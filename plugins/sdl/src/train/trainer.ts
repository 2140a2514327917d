import { Adam, Generator, LRScheduler, type Tensor, ValueError, clipGradNorm, mul, noGrad, norm, tensor, tidy } from '@glassbox/tensor';
import type { DecoderNorm, SaeConfig } from '../sae/config.ts';
import { createSae, defaultDecoderNorm } from '../sae/create.ts';
import { DEFAULT_STEP_CONTEXT, type StepContext, type SparseAutoencoder } from '../sae/sparse-autoencoder.ts';
import type { ActivationSource, Json } from './activation-source.ts';
import { readLatestCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { DeadLatentTracker, resampleDeadLatents } from './dead-latents.ts';
import { normalizeDecoderRows, projectDecoderGradient } from './decoder-constraint.ts';
import { geometricMedian, meanRows } from './geometric-median.ts';
import { lrSchedule, sparsityCoefficientAt } from './schedule.ts';

/** One SAE to train; several train side by side on the same batches. */
export interface TrainRunSpec {
  /** Unique within a training call. */
  name: string;
  sae: SaeConfig;
  /** Seeds the initial weights and resampling; default 0. */
  seed?: number;
  /** Adam learning rate; default 3e-4. */
  lr?: number;
  /** Adam betas; default [0.9, 0.999]. */
  betas?: [number, number];
  lrWarmupSteps?: number;
  lrDecay?: 'none' | 'linear' | 'cosine';
  /** Steps of linear decay at the end; default 20% of the steps. */
  lrDecaySteps?: number;
  /** L1 (standard, gated) or L0 / tanh (jumprelu) coefficient; unused by the TopK family. Default 0. */
  sparsityCoefficient?: number;
  /** Linear warmup of the sparsity coefficient from 0; default 0 steps. */
  sparsityWarmupSteps?: number;
  /** 'unit' constrains decoder rows to unit norm; 'penalty' weights the sparsity loss by them. Default by architecture. */
  decoderNorm?: DecoderNorm;
  /** Default: geometric_median when b_dec is applied to the input, else zeros. */
  bDecInit?: 'geometric_median' | 'mean' | 'zeros';
  /** A latent that has not fired for this many tokens is dead; default 10M. */
  deadWindowTokens?: number;
  /** AuxK for topk, batchtopk and matryoshka_batchtopk: k (default d_in/2) and weight (default 1/32); false turns it off. */
  auxk?: { k?: number; coefficient?: number } | false;
  /** Resample dead latents every this many steps (standard, gated, jumprelu); 0 (default) never. */
  resampleEverySteps?: number;
  /** No resampling after this step; default: until the last 20% of steps. */
  resampleUntilStep?: number;
  /** Clip the joint gradient norm; 0 (default) does not clip. */
  maxGradNorm?: number;
  jumpRelu?: { bandwidth?: number; sparsity?: 'step' | 'tanh'; tanhScale?: number; preActCoefficient?: number };
  /** BatchTopK threshold running-average rate; default 0.01. */
  thresholdLr?: number;
}

export interface RunMetrics {
  name: string;
  loss: number;
  /** Named loss parts: mse, l1, sparsity, auxk, … */
  terms: Record<string, number>;
  l0: number;
  deadFraction: number;
  lr: number;
  sparsityCoefficient: number;
}

export interface TrainProgress {
  /** Steps completed. */
  step: number;
  totalSteps: number;
  tokens: number;
  /** Tokens per second over this call (all runs process each token). */
  tokensPerSecond: number;
  elapsedSeconds: number;
  runs: RunMetrics[];
}

export interface TrainOptions {
  source: ActivationSource;
  runs: TrainRunSpec[];
  steps: number;
  batchSize: number;
  /**
   * Scale inputs to an average norm of √d_in (SAELens's expected_average_only_in), estimated on the
   * first batch, or by a given factor. Folded into the weights at the end. Default 'none'.
   */
  activationScale?: 'none' | 'expected_average_norm' | number;
  checkpoint?: { dir: string; everySteps: number; keep?: number };
  /** Continue from the latest checkpoint in checkpoint.dir when there is one. Default true. */
  resume?: boolean;
  onProgress?: (progress: TrainProgress) => void;
  /** Default 1: every step. */
  progressEverySteps?: number;
  /** Stops at the next step boundary, writing a checkpoint when checkpointing is on. */
  signal?: AbortSignal;
}

export interface TrainedRun {
  name: string;
  sae: SparseAutoencoder;
  metrics: RunMetrics | null;
}

export interface TrainResult {
  runs: TrainedRun[];
  /** Steps completed in total, including those before a resume. */
  steps: number;
  tokens: number;
  /** What raw activations were multiplied by during training (the source's scale times the trainer's); folded into the SAEs when completed. */
  activationScale: number;
  status: 'completed' | 'aborted';
  tokensPerSecond: number;
  resumedFromStep: number | null;
}

const TOPK_FAMILY = new Set(['topk', 'batchtopk', 'matryoshka_batchtopk']);

interface ResolvedRun {
  spec: TrainRunSpec;
  sae: SparseAutoencoder;
  optimizer: Adam;
  scheduler: LRScheduler;
  tracker: DeadLatentTracker;
  generator: Generator;
  decoderNorm: DecoderNorm;
  ctx: StepContext;
  coefficient: number;
  metrics: RunMetrics | null;
}

function checkOptions(options: TrainOptions): void {
  const fail = (arg: string, expected: string, given: unknown) => new ValueError('invalid training option', { op: 'trainSaes', arg, expected, given: JSON.stringify(given) });
  if (!Number.isInteger(options.steps) || options.steps < 0) throw fail('steps', 'a non-negative integer', options.steps);
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw fail('batchSize', 'a positive integer', options.batchSize);
  if (options.runs.length === 0) throw fail('runs', 'at least one run', []);
  const names = new Set<string>();
  for (const run of options.runs) {
    if (names.has(run.name)) throw fail('runs', 'distinct run names', run.name);
    names.add(run.name);
    if (run.sae.dIn !== options.source.dIn) throw fail(`runs.${run.name}.sae.dIn`, `the source width ${options.source.dIn}`, run.sae.dIn);
  }
  if (options.checkpoint && (!Number.isInteger(options.checkpoint.everySteps) || options.checkpoint.everySteps < 1)) {
    throw fail('checkpoint.everySteps', 'a positive integer', options.checkpoint.everySteps);
  }
}

function resolveRun(spec: TrainRunSpec, steps: number): ResolvedRun {
  const generator = Generator.fromSeed(spec.seed ?? 0);
  const sae = createSae(spec.sae, { generator });
  const optimizer = new Adam(sae.parameters(), { lr: spec.lr ?? 3e-4, betas: spec.betas ?? [0.9, 0.999] });
  const scheduler = new LRScheduler(
    optimizer,
    lrSchedule({ totalSteps: steps, warmupSteps: spec.lrWarmupSteps ?? 0, decay: spec.lrDecay ?? 'none', decaySteps: spec.lrDecaySteps }),
  );
  const decoderNorm = spec.decoderNorm ?? defaultDecoderNorm(spec.sae.architecture);
  const jr = spec.jumpRelu ?? {};
  const auxk = spec.auxk === false ? null : (spec.auxk ?? {});
  const ctx: StepContext = {
    ...DEFAULT_STEP_CONTEXT,
    decoderNorm,
    kAux: auxk?.k ?? Math.max(1, Math.floor(spec.sae.dIn / 2)),
    auxkCoefficient: auxk ? (auxk.coefficient ?? 1 / 32) : 0,
    jumpReluBandwidth: jr.bandwidth ?? DEFAULT_STEP_CONTEXT.jumpReluBandwidth,
    jumpReluSparsity: jr.sparsity ?? 'step',
    jumpReluTanhScale: jr.tanhScale ?? DEFAULT_STEP_CONTEXT.jumpReluTanhScale,
    preActCoefficient: jr.preActCoefficient ?? 0,
    thresholdLr: spec.thresholdLr ?? DEFAULT_STEP_CONTEXT.thresholdLr,
  };
  if (decoderNorm === 'unit') normalizeDecoderRows(sae.W_dec);
  return {
    spec,
    sae,
    optimizer,
    scheduler,
    tracker: new DeadLatentTracker(spec.sae.dSae, spec.deadWindowTokens ?? 10_000_000),
    generator,
    decoderNorm,
    ctx,
    coefficient: spec.sparsityCoefficient ?? 0,
    metrics: null,
  };
}

function initDecoderBias(run: ResolvedRun, batch: Tensor): void {
  const method = run.spec.bDecInit ?? (run.sae.config.applyBDecToInput ? 'geometric_median' : 'zeros');
  if (method === 'zeros') return;
  const [n, d] = [batch.shape[0]!, batch.shape[1]!];
  const data = batch.data() as Float32Array;
  const value = method === 'mean' ? Float32Array.from(meanRows(data, n, d)) : geometricMedian(data, n, d);
  noGrad(() => run.sae.b_dec.copyFrom(tensor(value, { shape: [d] })));
}

/** One optimizer step of one run. Everything it allocates is freed at its end: parameters change in place. */
function runStep(run: ResolvedRun, x: Tensor, step: number, totalSteps: number): void {
  tidy(() => stepRun(run, x, step, totalSteps));
}

function stepRun(run: ResolvedRun, x: Tensor, step: number, totalSteps: number): void {
  const { sae, optimizer, spec, tracker } = run;
  const batch = x.shape[0]!;
  const coefficient = sparsityCoefficientAt(step, run.coefficient, spec.sparsityWarmupSteps ?? 0);
  const usesAuxK = TOPK_FAMILY.has(sae.architecture) && run.ctx.auxkCoefficient > 0;
  const ctx: StepContext = { ...run.ctx, sparsityCoefficient: coefficient, deadMask: usesAuxK ? tracker.deadMask() : null };
  const lr = optimizer.lr;
  const out = sae.trainStep(x, ctx);
  out.loss.backward();
  if (run.decoderNorm === 'unit') projectDecoderGradient(sae.W_dec);
  if (spec.maxGradNorm && spec.maxGradNorm > 0) clipGradNorm(sae.parameters(), spec.maxGradNorm);
  optimizer.step();
  run.scheduler.step();
  optimizer.zeroGrad();
  if (run.decoderNorm === 'unit') normalizeDecoderRows(sae.W_dec);
  sae.afterStep();
  tracker.update(out.firing, batch);
  const every = spec.resampleEverySteps ?? 0;
  const until = spec.resampleUntilStep ?? Math.floor(totalSteps * 0.8);
  if (every > 0 && !TOPK_FAMILY.has(sae.architecture) && (step + 1) % every === 0 && step + 1 <= until) {
    const dead = tracker.deadMask();
    const { resampled } = resampleDeadLatents(sae, x, dead, optimizer, run.generator);
    tracker.reset(resampled);
  }
  const terms: Record<string, number> = {};
  for (const [k, v] of Object.entries(out.terms)) terms[k] = v.item();
  run.metrics = {
    name: spec.name,
    loss: out.loss.item(),
    terms,
    l0: out.l0,
    deadFraction: tracker.deadCount() / sae.dSae,
    lr,
    sparsityCoefficient: coefficient,
  };
}

function runState(run: ResolvedRun): Json {
  return { sinceFired: Array.from(run.tracker.sinceFired), generator: run.generator.getState(), scheduler: { ...run.scheduler.stateDict() } };
}

function restoreRunState(run: ResolvedRun, state: Json): void {
  const s = state as { sinceFired: number[]; generator: number[]; scheduler: { baseLr: number; step: number } };
  run.tracker.sinceFired.set(s.sinceFired);
  run.generator.setState(s.generator);
  run.scheduler.loadStateDict(s.scheduler);
}

/** The mean row norm of a batch, giving the scale that makes it √d_in. */
function expectedNormScale(x: Tensor): number {
  const mean = noGrad(() => norm(x, 2, 1).mean().item());
  return mean > 0 ? Math.sqrt(x.shape[1]!) / mean : 1;
}

/**
 * Trains one or more SAEs in a single pass over the source: each batch is drawn once and every
 * run takes an Adam step on it, so a grid over widths, k or sparsity costs one stream of
 * activations. Deterministic given the seeds and the source; with checkpointing it resumes from
 * the latest checkpoint and continues exactly as an uninterrupted run would.
 */
export async function trainSaes(options: TrainOptions): Promise<TrainResult> {
  checkOptions(options);
  const { source, steps, batchSize, checkpoint, signal } = options;
  const runs = options.runs.map((spec) => resolveRun(spec, steps));
  let step = 0;
  let tokens = 0;
  let scale = typeof options.activationScale === 'number' ? options.activationScale : 1;
  let scaleKnown = options.activationScale !== 'expected_average_norm';
  let resumedFromStep: number | null = null;

  if (checkpoint && options.resume !== false) {
    const loaded = await readLatestCheckpoint(checkpoint.dir);
    if (loaded) {
      const names = runs.map((r) => r.spec.name);
      if (loaded.runNames.join('\n') !== names.join('\n')) {
        throw new ValueError('the checkpoint holds different runs', { op: 'trainSaes', arg: 'runs', expected: loaded.runNames.join(', '), given: names.join(', ') });
      }
      const t = loaded.trainer as { tokens: number; scale: number; source: Json };
      for (const [i, run] of runs.entries()) restoreRunState(run, await loaded.restoreRun(i, run.sae, run.optimizer));
      if (t.source !== null) {
        if (!source.setState) throw new ValueError('the source cannot resume', { op: 'trainSaes', arg: 'source', expected: 'a source with setState', given: 'none' });
        source.setState(t.source);
      }
      step = loaded.step;
      tokens = t.tokens;
      scale = t.scale;
      scaleKnown = true;
      resumedFromStep = step;
    }
  }

  let savedStep = resumedFromStep ?? -1;
  const save = async () => {
    // A checkpoint of this very step exists already (periodic, then abort or end): nothing changed since.
    if (!checkpoint || savedStep === step) return;
    savedStep = step;
    await writeCheckpoint(
      checkpoint.dir,
      {
        step,
        trainer: { tokens, scale, source: source.getState ? source.getState() : null },
        runs: runs.map((run) => ({ name: run.spec.name, sae: run.sae, optimizer: run.optimizer, state: runState(run) })),
      },
      checkpoint.keep ?? 2,
    );
  };

  const started = performance.now();
  const startTokens = tokens;
  const every = options.progressEverySteps ?? 1;
  let status: TrainResult['status'] = 'completed';
  const progress = (): TrainProgress => {
    const elapsedSeconds = (performance.now() - started) / 1000;
    return {
      step,
      totalSteps: steps,
      tokens,
      tokensPerSecond: elapsedSeconds > 0 ? (tokens - startTokens) / elapsedSeconds : 0,
      elapsedSeconds,
      runs: runs.flatMap((r) => (r.metrics ? [r.metrics] : [])),
    };
  };

  while (step < steps) {
    if (signal?.aborted) {
      status = 'aborted';
      await save();
      break;
    }
    let x = await source.next(batchSize);
    if (!scaleKnown) {
      scale = expectedNormScale(x);
      scaleKnown = true;
    }
    if (scale !== 1) x = noGrad(() => mul(x, scale));
    if (step === 0) for (const run of runs) initDecoderBias(run, x);
    for (const run of runs) runStep(run, x, step, steps);
    step++;
    tokens += x.shape[0]!;
    if (options.onProgress && (step % every === 0 || step === steps)) options.onProgress(progress());
    if (checkpoint && step % checkpoint.everySteps === 0 && step < steps) await save();
  }
  // What raw activations were multiplied by before the SAEs saw them: the source's and ours.
  const totalScale = scale * (source.scale ?? 1);
  if (status === 'completed') {
    await save();
    if (totalScale !== 1) {
      for (const run of runs) {
        run.sae.foldActivationScale(totalScale);
        run.sae.config.normalizeActivations = 'none';
      }
    }
  }
  const final = progress();
  return {
    runs: runs.map((r) => ({ name: r.spec.name, sae: r.sae, metrics: r.metrics })),
    steps: step,
    tokens,
    activationScale: totalScale,
    status,
    tokensPerSecond: final.tokensPerSecond,
    resumedFromStep,
  };
}

/** One line for a terminal: step, a bar, tokens/s and each run's loss, L0 and dead fraction. */
export function formatProgress(p: TrainProgress, width = 20): string {
  const filled = p.totalSteps > 0 ? Math.round((p.step / p.totalSteps) * width) : width;
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const rate = p.tokensPerSecond >= 1000 ? `${(p.tokensPerSecond / 1000).toFixed(1)}k` : p.tokensPerSecond.toFixed(0);
  const runs = p.runs.map((r) => `${r.name}: loss ${r.loss.toPrecision(4)} L0 ${r.l0.toFixed(1)} dead ${(100 * r.deadFraction).toFixed(1)}%`).join(' | ');
  return `step ${p.step}/${p.totalSteps} [${bar}] ${rate} tok/s ${runs}`;
}
