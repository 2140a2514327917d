import type { HookedTransformer } from '@glassbox/model';
import { type Generator, type Tensor, ValueError, noGrad, tensor } from '@glassbox/tensor';
import { METRIC_NAMES, type AttributionMetric, type MetricName, metricByName } from '../metrics.ts';
import { type ScoredPairs, checkPairs, repeatedTokenPairs } from '../prompt-pairs.ts';

/** Options every command shares: where the prompt pairs come from and what the metric is. */
export const TASK_OPTIONS = {
  prompts: {
    type: 'string',
    default: '',
    description:
      'JSON file of prompt pairs {clean, corrupted: int[][], answers, wrong?: int[] or int[][] (-1 = unscored)}; empty for the built-in induction task (repeated random tokens, first copy corrupted)',
  },
  batch: { type: 'integer', default: 8, min: 1, description: 'prompt pairs of the built-in task' },
  halfLen: { type: 'integer', default: 0, min: 0, description: 'length of the repeated segment of the built-in task (0: as long as the context allows, at most 16)' },
  metric: { type: 'enum', default: 'logit-diff', choices: METRIC_NAMES, description: 'metric M over the batch of prompt pairs' },
} as const;

export interface Task {
  readonly pairs: ScoredPairs;
  readonly metric: AttributionMetric;
  readonly description: string;
}

function ids(op: string, name: string, value: unknown, rank: 1 | 2 | 'either'): Tensor {
  const fail = () => new ValueError('bad prompts file', { op, arg: name, expected: rank === 1 ? 'an array of integers' : 'an array of integer arrays', given: JSON.stringify(value)?.slice(0, 60) });
  if (!Array.isArray(value) || value.length === 0) throw fail();
  const nested = Array.isArray(value[0]);
  if ((rank === 1 && nested) || (rank === 2 && !nested)) throw fail();
  const flat = (nested ? (value as unknown[][]).flat() : value) as unknown[];
  if (!flat.every((v) => Number.isInteger(v))) throw fail();
  return tensor(value as number[] | number[][], { dtype: 'int32' });
}

/** Builds the prompt pairs and metric from the shared options. */
export async function loadTask(
  model: HookedTransformer,
  options: { prompts: string; batch: number; halfLen: number; metric: MetricName },
  rng: Generator,
  op: string,
): Promise<Task> {
  let pairs: ScoredPairs;
  let description: string;
  if (options.prompts) {
    const { readFile } = await import('node:fs/promises');
    const json = JSON.parse(await readFile(options.prompts, 'utf8')) as Record<string, unknown>;
    const clean = ids(op, 'clean', json.clean, 2);
    const corrupted = ids(op, 'corrupted', json.corrupted, 2);
    checkPairs(op, { clean, corrupted });
    const answers = ids(op, 'answers', json.answers, 'either');
    const wrong = json.wrong === undefined ? undefined : ids(op, 'wrong', json.wrong, 'either');
    pairs = { clean, corrupted, answers, ...(wrong ? { wrong } : {}) };
    description = `${clean.shape[0]} prompt pairs from ${options.prompts}`;
  } else {
    const halfLen = options.halfLen > 0 ? options.halfLen : Math.min(16, Math.floor((model.cfg.nCtx - 1) / 2));
    if (1 + 2 * halfLen > model.cfg.nCtx) {
      throw new ValueError('the task is longer than the context', { op, arg: 'halfLen', expected: `1 + 2·halfLen <= nCtx = ${model.cfg.nCtx}`, given: String(halfLen) });
    }
    pairs = repeatedTokenPairs(rng, { batch: options.batch, halfLen, dVocab: model.cfg.dVocab });
    description = `induction: ${options.batch} pairs of [BOS, r, r] with |r| = ${halfLen}, first copy corrupted`;
  }
  const metric = metricByName(options.metric, pairs, () => noGrad(() => model.forward(pairs.clean)));
  return { pairs, metric, description: `${description}; metric ${options.metric}` };
}
