import { type RunContext, defineCommand } from '@glassbox/core';
import { type PatchingResult, activationPatching } from '../activation-patching.ts';
import { labelledToJSON, topEntries } from '../labelled-tensor.ts';
import { asHookedTransformer } from '../model-runs.ts';
import { PRESET_NAMES } from '../patching-presets.ts';
import { TASK_OPTIONS, loadTask } from './task.ts';

export const DIRECTION_OPTION = { type: 'enum', default: 'denoising', choices: ['denoising', 'noising'], description: 'patch clean into corrupted runs, or corrupted into clean' } as const;
export const PRESET_OPTION = { type: 'enum', default: 'head_out_all_pos', choices: PRESET_NAMES, description: 'node set (TransformerLens patching presets)' } as const;

/** A node-level result as run-directory artifacts: values as safetensors, labels and metrics as JSON. */
export async function writeNodeResult(
  ctx: Pick<RunContext, 'runDir'>,
  stem: string,
  result: PatchingResult,
  extra: Record<string, unknown> = {},
): Promise<Record<string, string>> {
  await ctx.runDir.writeTensors(`${stem}.safetensors`, { values: result.values }, { preset: result.preset, direction: result.direction, axes: result.axes.map((a) => a.name).join(',') });
  const { values, ...rest } = labelledToJSON(result);
  await ctx.runDir.writeJson(`${stem}.json`, {
    preset: result.preset,
    direction: result.direction,
    baseMetric: result.baseMetric,
    sourceMetric: result.sourceMetric,
    cost: result.cost,
    ...rest,
    values,
    ...extra,
  });
  return { [stem]: `${stem}.json`, [`${stem}-values`]: `${stem}.safetensors` };
}

export function describeTop(result: PatchingResult, k = 5): string[] {
  return topEntries(result, k).map((e) => `  ${Object.entries(e.labels).map(([axis, label]) => `${axis} ${label}`).join(', ')}: ${e.value.toFixed(4)}`);
}

/** `glassbox patch`: activation patching over a preset, the ground truth for attribution. */
export const patchCommand = defineCommand({
  name: 'patch',
  description: 'activation patching over a node set (one forward pass per node)',
  needsModel: true,
  options: { preset: PRESET_OPTION, direction: DIRECTION_OPTION, ...TASK_OPTIONS },
  async run(ctx, options) {
    const model = asHookedTransformer(ctx.model, 'patch');
    const task = await loadTask(model, options, ctx.rng, 'patch');
    ctx.log(task.description);
    const result = await ctx.runDir.time('patch', () => activationPatching(model, task.pairs, task.metric, { preset: options.preset, direction: options.direction }));
    const artifacts = await writeNodeResult(ctx, 'patching', result);
    return {
      summary: [
        `activation patching (${options.direction}) over ${options.preset}: ${result.values.size} nodes, ${result.cost.forward} forward passes`,
        `M(base) = ${result.baseMetric.toFixed(4)}, M(source) = ${result.sourceMetric.toFixed(4)}; largest effects:`,
        ...describeTop(result),
      ],
      artifacts,
    };
  },
});
