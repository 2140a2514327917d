import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdamW, Generator, LRScheduler, type Module, type Schedule, Tensor, ValueError, clipGradNorm, constantSchedule, cosineWithWarmup, tidy, writeFileAtomic, writeJsonAtomic } from '@glassbox/tensor';
import { checkpointSchedule, type CheckpointScheduleOptions } from './checkpoint-schedule.ts';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';

/** What the progress callback receives after every step. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  /** Tokens (or examples) per second over this session. */
  tokensPerSecond: number;
  elapsedSeconds: number;
  /** Estimated seconds to the last step, from this session's mean step time. */
  etaSeconds: number;
  /** Present on evaluation steps. */
  eval?: Record<string, number>;
}

export interface TrainerOptions<M extends Module, B> {
  model: M;
  /**
   * Draws the next training batch from the trainer's data generator, whose state is checkpointed.
   * Each step (batch, loss, backward, update) runs inside tidy(): a tensor it creates and stores
   * for later must be passed to keep().
   */
  nextBatch: (generator: Generator, step: number) => B;
  /** The scalar loss of the model on a batch. */
  loss: (model: M, batch: B) => Tensor;
  /** Total optimizer steps. */
  steps: number;
  /** Seeds the data generator; default 0. */
  seed?: number;
  /** AdamW: default lr 1e-3, weight decay 0.01, betas [0.9, 0.999]. */
  lr?: number;
  weightDecay?: number;
  betas?: readonly [number, number];
  /** Linear warmup steps; default 0. */
  warmupSteps?: number;
  /** 'cosine' (default) decays to minLrRatio · lr at the last step; 'constant' stays at lr after warmup. */
  schedule?: 'cosine' | 'constant';
  minLrRatio?: number;
  /** Clip the gradient norm to this value; default none. */
  gradClip?: number;
  /** Evaluate every this many steps (default steps / 10) and at the last step. */
  evalEvery?: number;
  evaluate?: (model: M, step: number) => Record<string, number>;
  /** Tokens in a batch, for tokens/s; default the size of a Tensor batch, else 1 per step. */
  tokensPerBatch?: (batch: B) => number;
  onProgress?: (progress: TrainProgress) => void;
  /**
   * The run directory: config.json, metrics.jsonl (one JSON object per step, with eval results on
   * evaluation steps) and checkpoints/step-XXXXXXXX/. Without it nothing is written.
   */
  runDir?: string;
  /** Steps after which to checkpoint (0 means the initial weights); default a log-then-linear schedule. */
  checkpoints?: readonly number[] | Omit<CheckpointScheduleOptions, 'totalSteps'>;
  /** Describes the run (e.g. the model configuration); written to config.json and into every checkpoint. */
  config?: unknown;
  /** Stops training before the next step when aborted. */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** Steps completed. */
  step: number;
  /** Whether all steps ran (false when aborted). */
  completed: boolean;
  /** The step training resumed from, or null for a fresh run. */
  resumedFrom: number | null;
  /** Training loss of each step run in this session. */
  losses: number[];
  /** The last evaluation, if any. */
  lastEval?: Record<string, number>;
}

/**
 * Trains a module with AdamW under a warmup + cosine (or constant) learning-rate schedule, with
 * periodic evaluation, progress reports, and checkpoints on a log-then-linear schedule. A run that
 * stops (killed, aborted) resumes from its last checkpoint with `run({ resume: true })`, and then ends
 * with weights bit-identical to an uninterrupted run: the model, optimizer, schedule and data
 * generator states are all restored exactly.
 */
export class Trainer<M extends Module, B> {
  readonly options: TrainerOptions<M, B>;
  readonly optimizer: AdamW;
  readonly scheduler: LRScheduler;
  readonly generator: Generator;
  readonly checkpointSteps: readonly number[];
  #step = 0;

  constructor(options: TrainerOptions<M, B>) {
    const op = 'Trainer';
    if (!Number.isInteger(options.steps) || options.steps < 0) {
      throw new ValueError('invalid `steps`', { op, arg: 'steps', expected: 'an integer >= 0', given: String(options.steps) });
    }
    if (options.evalEvery !== undefined && (!Number.isInteger(options.evalEvery) || options.evalEvery < 1)) {
      throw new ValueError('invalid `evalEvery`', { op, arg: 'evalEvery', expected: 'an integer >= 1', given: String(options.evalEvery) });
    }
    this.options = options;
    this.optimizer = new AdamW(options.model.parameters(), {
      lr: options.lr ?? 1e-3,
      weightDecay: options.weightDecay ?? 0.01,
      ...(options.betas ? { betas: options.betas } : {}),
    });
    const warmupSteps = Math.min(options.warmupSteps ?? 0, options.steps);
    let schedule: Schedule;
    if (options.schedule === 'constant') {
      schedule = warmupSteps > 0 ? (s) => Math.min(1, s / warmupSteps) : constantSchedule();
    } else {
      schedule = cosineWithWarmup({ warmupSteps, totalSteps: Math.max(options.steps, warmupSteps), minLrRatio: options.minLrRatio ?? 0 });
    }
    this.scheduler = new LRScheduler(this.optimizer, schedule);
    this.generator = Generator.fromSeed(options.seed ?? 0);
    const checkpoints = options.checkpoints ?? {};
    this.checkpointSteps = Array.isArray(checkpoints)
      ? [...(checkpoints as readonly number[])].sort((a, b) => a - b)
      : checkpointSchedule({ totalSteps: options.steps, ...(checkpoints as Omit<CheckpointScheduleOptions, 'totalSteps'>) });
  }

  /** Steps completed so far. */
  get step(): number {
    return this.#step;
  }

  get #checkpointDir(): string | null {
    return this.options.runDir ? join(this.options.runDir, 'checkpoints') : null;
  }

  /** Writes a checkpoint of the current state now (also done automatically on the schedule). */
  async checkpoint(): Promise<string> {
    const dir = this.#checkpointDir;
    if (!dir) throw new ValueError('no run directory', { op: 'Trainer.checkpoint', arg: 'runDir', expected: 'a run directory in the options', given: 'none' });
    return saveCheckpoint(dir, {
      step: this.#step,
      model: this.options.model.stateDict(),
      config: this.options.config ?? null,
      optimizer: this.optimizer.stateDict(),
      scheduler: this.scheduler.stateDict(),
      dataGenerator: this.generator.getState(),
    });
  }

  /** Restores the model, optimizer, schedule and data generator from a checkpoint directory. */
  async restore(path: string): Promise<number> {
    const checkpoint = await loadCheckpoint(path);
    this.options.model.loadStateDict(checkpoint.model);
    if (checkpoint.optimizer) this.optimizer.loadStateDict(checkpoint.optimizer);
    if (checkpoint.scheduler) this.scheduler.loadStateDict(checkpoint.scheduler);
    if (checkpoint.dataGenerator) this.generator.setState(checkpoint.dataGenerator);
    this.#step = checkpoint.step;
    return checkpoint.step;
  }

  /**
   * Trains up to `steps`. With `resume`, first restores the latest checkpoint in the run directory
   * (if there is one) and drops the metrics logged after it.
   */
  async run(options: { resume?: boolean } = {}): Promise<TrainResult> {
    const o = this.options;
    const metricsPath = o.runDir ? join(o.runDir, 'metrics.jsonl') : null;
    let resumedFrom: number | null = null;
    if (o.runDir) await mkdir(o.runDir, { recursive: true });
    if (options.resume && this.#checkpointDir) {
      const found = await latestCheckpoint(this.#checkpointDir).catch(() => null);
      if (found) {
        resumedFrom = await this.restore(found.path);
        if (metricsPath) await truncateMetrics(metricsPath, resumedFrom);
      }
    }
    if (o.runDir && resumedFrom === null) {
      await writeJsonAtomic(join(o.runDir, 'config.json'), { config: o.config ?? null, training: trainingSummary(o) });
      if (metricsPath) await writeFileAtomic(metricsPath, '');
    }
    const pending: string[] = [];
    const flush = async () => {
      if (metricsPath && pending.length > 0) await appendFile(metricsPath, pending.splice(0).join(''));
    };
    const saveIfScheduled = async () => {
      if (this.#checkpointDir && this.checkpointSteps.includes(this.#step)) {
        await flush();
        await this.checkpoint();
      }
    };
    if (resumedFrom === null) await saveIfScheduled();

    const losses: number[] = [];
    let lastEval: Record<string, number> | undefined;
    const started = performance.now();
    const firstStep = this.#step;
    let tokens = 0;
    try {
      while (this.#step < o.steps) {
        if (o.signal?.aborted) return { step: this.#step, completed: false, resumedFrom, losses, ...(lastEval ? { lastEval } : {}) };
        const lr = this.optimizer.lr;
        // One scope per step: the wasm backend reuses the same blocks every step instead of filling
        // its budget and spilling. The gradients are dropped with the rest.
        const [lossValue, batchTokens] = tidy(() => {
          const batch = o.nextBatch(this.generator, this.#step);
          const loss = o.loss(o.model, batch);
          this.optimizer.zeroGrad();
          loss.backward();
          if (o.gradClip !== undefined) clipGradNorm(o.model.parameters(), o.gradClip);
          this.optimizer.step();
          this.optimizer.zeroGrad();
          return [loss.item(), o.tokensPerBatch ? o.tokensPerBatch(batch) : batch instanceof Tensor ? batch.size : 1] as const;
        });
        this.scheduler.step();
        this.#step += 1;
        losses.push(lossValue);
        tokens += batchTokens;
        const elapsedSeconds = (performance.now() - started) / 1000;
        const done = this.#step - firstStep;
        const progress: TrainProgress = {
          step: this.#step,
          totalSteps: o.steps,
          loss: lossValue,
          lr,
          tokensPerSecond: elapsedSeconds > 0 ? tokens / elapsedSeconds : 0,
          elapsedSeconds,
          etaSeconds: (elapsedSeconds / done) * (o.steps - this.#step),
        };
        const evalEvery = o.evalEvery ?? Math.max(1, Math.floor(o.steps / 10));
        const evalStep = o.evaluate && (this.#step % evalEvery === 0 || this.#step === o.steps);
        if (evalStep && o.evaluate) {
          lastEval = o.evaluate(o.model, this.#step);
          progress.eval = lastEval;
        }
        pending.push(`${JSON.stringify({ step: this.#step, loss: lossValue, lr, ...(progress.eval ? { eval: progress.eval } : {}) })}\n`);
        o.onProgress?.(progress);
        await saveIfScheduled();
      }
    } finally {
      await flush();
    }
    return { step: this.#step, completed: true, resumedFrom, losses, ...(lastEval ? { lastEval } : {}) };
  }
}

function trainingSummary<M extends Module, B>(o: TrainerOptions<M, B>): Record<string, unknown> {
  return {
    steps: o.steps,
    seed: o.seed ?? 0,
    optimizer: 'AdamW',
    lr: o.lr ?? 1e-3,
    weightDecay: o.weightDecay ?? 0.01,
    betas: o.betas ?? [0.9, 0.999],
    warmupSteps: o.warmupSteps ?? 0,
    schedule: o.schedule ?? 'cosine',
    minLrRatio: o.minLrRatio ?? 0,
    gradClip: o.gradClip ?? null,
    evalEvery: o.evalEvery ?? null,
  };
}

/** Keeps only the metric lines of steps up to `step` (those logged before the checkpoint). */
async function truncateMetrics(path: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  const kept = text.split('\n').filter((line) => line.trim() !== '' && (JSON.parse(line) as { step: number }).step <= step);
  await writeFileAtomic(path, kept.map((line) => `${line}\n`).join(''));
}
