import { ValueError } from '@glassbox/tensor';
import type { Schedule } from '@glassbox/tensor';

export interface LrScheduleOptions {
  totalSteps: number;
  /** Linear warmup from lr/warmupSteps to lr over the first steps; default 0. */
  warmupSteps?: number;
  /** 'linear' falls to 0 over the last decaySteps (Anthropic: the last 20%); 'cosine' falls from the end of warmup to minLrRatio. */
  decay?: 'none' | 'linear' | 'cosine';
  /** Steps of linear decay at the end; default 20% of totalSteps. */
  decaySteps?: number;
  /** Floor of the cosine, as a fraction of lr; default 0. */
  minLrRatio?: number;
}

/** A multiplier of the base learning rate by step (0-based), for the engine's LRScheduler. */
export function lrSchedule(options: LrScheduleOptions): Schedule {
  const { totalSteps, warmupSteps = 0, decay = 'none', decaySteps = Math.floor(totalSteps * 0.2), minLrRatio = 0 } = options;
  for (const [arg, v] of [
    ['totalSteps', totalSteps],
    ['warmupSteps', warmupSteps],
    ['decaySteps', decaySteps],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ValueError(`invalid \`${arg}\``, { op: 'lrSchedule', arg, expected: 'a non-negative integer', given: String(v) });
  }
  return (step) => {
    let m = step < warmupSteps ? (step + 1) / warmupSteps : 1;
    if (decay === 'linear' && decaySteps > 0 && step >= totalSteps - decaySteps) m *= Math.max(0, (totalSteps - step) / decaySteps);
    if (decay === 'cosine' && step >= warmupSteps) {
      const span = Math.max(1, totalSteps - warmupSteps);
      const progress = Math.min(1, (step - warmupSteps) / span);
      m *= minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    return m;
  };
}

/** The sparsity coefficient at a step: linear from coefficient/warmupSteps up to coefficient. */
export function sparsityCoefficientAt(step: number, coefficient: number, warmupSteps: number): number {
  return warmupSteps > 0 && step < warmupSteps ? (coefficient * (step + 1)) / warmupSteps : coefficient;
}
