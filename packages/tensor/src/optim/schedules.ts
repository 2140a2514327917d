import { ValueError } from '../errors.ts';
import type { Optimizer } from './optimizer.ts';

/** A learning-rate multiplier as a pure function of the number of scheduler steps taken (0, 1, 2, …). */
export type Schedule = (step: number) => number;

function checkSteps(op: string, arg: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new ValueError(`invalid \`${arg}\``, { op, arg, expected: `an integer >= ${min}`, given: String(value) });
  }
}

/** Always 1. */
export function constantSchedule(): Schedule {
  return () => 1;
}

/** Rises linearly from 0 at step 0 to 1 at `warmupSteps`, then stays at 1 (Hugging Face's convention). */
export function linearWarmup(warmupSteps: number): Schedule {
  checkSteps('linearWarmup', 'warmupSteps', warmupSteps, 0);
  return (step) => (step < warmupSteps ? step / warmupSteps : 1);
}

export interface CosineScheduleOptions {
  /** Steps of linear warmup from 0; default 0. */
  warmupSteps?: number;
  /** The step at which the cosine reaches its floor; it stays there afterwards. */
  totalSteps: number;
  /** The floor, as a fraction of the base learning rate; default 0. */
  minLrRatio?: number;
}

/**
 * Linear warmup to 1 over `warmupSteps`, then half a cosine down to `minLrRatio` at `totalSteps`:
 * min + (1 − min) · ½(1 + cos(π · (step − warmup) / (total − warmup))).
 */
export function cosineWithWarmup(options: CosineScheduleOptions): Schedule {
  const { warmupSteps = 0, totalSteps, minLrRatio = 0 } = options;
  checkSteps('cosineWithWarmup', 'warmupSteps', warmupSteps, 0);
  checkSteps('cosineWithWarmup', 'totalSteps', totalSteps, warmupSteps);
  if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
    throw new ValueError('invalid `minLrRatio`', { op: 'cosineWithWarmup', arg: 'minLrRatio', expected: 'a number in [0, 1]', given: String(minLrRatio) });
  }
  return (step) => {
    if (step < warmupSteps) return step / warmupSteps;
    const progress = totalSteps === warmupSteps ? 1 : Math.min(1, (step - warmupSteps) / (totalSteps - warmupSteps));
    return minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

export interface LRSchedulerState {
  baseLr: number;
  step: number;
}

/**
 * Drives an optimizer's lr from a schedule, as torch.optim.lr_scheduler.LambdaLR: on construction
 * lr = baseLr · schedule(0); call step() after each optimizer.step() to move to the next multiplier.
 */
export class LRScheduler {
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  #baseLr: number;
  #step = 0;

  constructor(optimizer: Optimizer, schedule: Schedule) {
    this.optimizer = optimizer;
    this.schedule = schedule;
    this.#baseLr = optimizer.lr;
    this.#apply();
  }

  get baseLr(): number {
    return this.#baseLr;
  }
  /** Scheduler steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  step(): void {
    this.#step += 1;
    this.#apply();
  }

  stateDict(): LRSchedulerState {
    return { baseLr: this.#baseLr, step: this.#step };
  }

  loadStateDict(state: LRSchedulerState): void {
    checkSteps('LRScheduler.loadStateDict', 'step', state.step, 0);
    this.#baseLr = state.baseLr;
    this.#step = state.step;
    this.#apply();
  }

  #apply(): void {
    this.optimizer.lr = this.#baseLr * this.schedule(this.#step);
  }
}
