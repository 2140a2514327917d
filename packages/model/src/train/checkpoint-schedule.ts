import { ValueError } from '@glassbox/tensor';

export interface CheckpointScheduleOptions {
  totalSteps: number;
  /** Spacing of the linear part; default ceil(totalSteps / 10). */
  every?: number;
  /** Ratio between successive early checkpoints; default 2. */
  logBase?: number;
  /** Include step 0 (the initial weights); default true. */
  includeStart?: boolean;
}

/**
 * Steps at which to save checkpoints, as Pythia does: log-spaced early (1, 2, 4, … below `every`),
 * then every `every` steps, and always the final step. Sorted and without repeats.
 */
export function checkpointSchedule(options: CheckpointScheduleOptions): number[] {
  const op = 'checkpointSchedule';
  const { totalSteps, logBase = 2, includeStart = true } = options;
  if (!Number.isInteger(totalSteps) || totalSteps < 0) throw new ValueError('invalid `totalSteps`', { op, arg: 'totalSteps', expected: 'an integer >= 0', given: String(totalSteps) });
  const every = options.every ?? Math.max(1, Math.ceil(totalSteps / 10));
  if (!Number.isInteger(every) || every < 1) throw new ValueError('invalid `every`', { op, arg: 'every', expected: 'an integer >= 1', given: String(every) });
  if (!(logBase > 1)) throw new ValueError('invalid `logBase`', { op, arg: 'logBase', expected: 'a number > 1', given: String(logBase) });
  const steps = new Set<number>();
  if (includeStart) steps.add(0);
  for (let s = 1; s < every && s <= totalSteps; s = Math.max(s + 1, Math.round(s * logBase))) steps.add(s);
  for (let s = every; s <= totalSteps; s += every) steps.add(s);
  if (totalSteps > 0) steps.add(totalSteps);
  return [...steps].sort((a, b) => a - b);
}
