import { defineCommand } from '@glassbox/core';
import type { HookedTransformer } from '@glassbox/model';
import { ValueError, tensor } from '@glassbox/tensor';
import { activationPatching } from '../activation-patching.ts';
import { type AtpStarResult, atpStar } from '../atp-star.ts';
import { attributionPatching } from '../attribution-patching.ts';
import { type EapIgOptions, eapIgActivations, eapIgInputs } from '../eap-ig.ts';
import { eap } from '../eap.ts';
import { type EdgeScores, rankedEdges } from '../edge-scores.ts';
import type { AttributionMetric } from '../metrics.ts';
import { asHookedTransformer } from '../model-runs.ts';
import type { PromptPairs } from '../prompt-pairs.ts';
import { pearson } from '../stats.ts';
import { type DictionaryLoader, FEATURE_OPTIONS, attributeFeatures, loadDictionaries } from './feature-attribution.ts';
import { DIRECTION_OPTION, PRESET_OPTION, describeTop, writeNodeResult } from './patch-command.ts';
import { TASK_OPTIONS, loadTask } from './task.ts';

export const ATTRIBUTION_METHODS = ['atp', 'atp-star', 'eap', 'eap-ig-inputs', 'eap-ig-activations'] as const;
export const EDGE_METHODS = ['eap', 'eap-ig-inputs', 'eap-ig-activations'] as const;
export const STEPS_OPTION = { type: 'integer', default: 5, min: 1, description: 'integration steps m of EAP-IG' } as const;

/** Runs an edge method by name. */
export function edgeScores(method: (typeof EDGE_METHODS)[number], model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: EapIgOptions = {}): EdgeScores {
  if (method === 'eap') return eap(model, pairs, metric, options);
  return method === 'eap-ig-inputs' ? eapIgInputs(model, pairs, metric, options) : eapIgActivations(model, pairs, metric, options);
}

/** Edge scores as artifacts: the [nUpstream, nDownstream] matrix and a ranked JSON list. */
export async function writeEdgeScores(
  ctx: Parameters<typeof writeNodeResult>[0],
  scores: EdgeScores,
  top = 200,
): Promise<Record<string, string>> {
  const { graph } = scores;
  await ctx.runDir.writeTensors('edge-scores.safetensors', { scores: tensor(scores.scores, { shape: [graph.nUpstream, graph.nDownstream] }) }, { method: scores.method });
  await ctx.runDir.writeJson('edge-scores.json', {
    method: scores.method,
    steps: scores.steps ?? null,
    cleanMetric: scores.cleanMetric,
    corruptedMetric: scores.corruptedMetric,
    cost: scores.cost,
    upstream: graph.upstream.map((n) => n.id),
    downstream: graph.downstream.map((n) => n.id),
    top: rankedEdges(graph, scores.scores)
      .slice(0, top)
      .map(([u, v, score]) => ({ edge: graph.edgeName(u, v), score })),
  });
  return { 'edge-scores': 'edge-scores.json', 'edge-scores-values': 'edge-scores.safetensors' };
}

/** With `--sae` the nodes are the latents: options that pick or score other node sets would be ignored, so they are refused. */
function refuseNodeSetOptions(options: { preset: string; gradDrop: boolean; steps: number }): void {
  const ignored = [
    options.preset !== PRESET_OPTION.default ? `--preset ${options.preset}` : null,
    options.gradDrop ? '--grad-drop' : null,
    options.steps !== STEPS_OPTION.default ? `--steps ${options.steps}` : null,
  ].filter((o): o is string => o !== null);
  if (ignored.length > 0) {
    throw new ValueError('options that do not apply to SAE latents', { op: 'attribute', arg: '--sae', expected: 'no --preset, --grad-drop or --steps with --sae', given: ignored.join(' ') });
  }
}

/**
 * `glassbox attribute`: AtP / AtP* over a node set, EAP / EAP-IG over every edge, or with `--sae`
 * AtP over the latents of spliced dictionaries, which `loadDictionary` loads (without it `--sae`
 * fails with a NoDictionaryLoaderError).
 */
export function createAttributeCommand(loadDictionary?: DictionaryLoader) {
  return defineCommand({
    name: 'attribute',
    description: 'gradient attribution: AtP, AtP* (nodes), EAP, EAP-IG (edges) or AtP over SAE latents (--sae)',
    needsModel: true,
    options: {
      method: { type: 'enum', default: 'atp', choices: ATTRIBUTION_METHODS, description: 'attribution method' },
      preset: PRESET_OPTION,
      direction: DIRECTION_OPTION,
      gradDrop: { type: 'boolean', default: false, description: 'AtP*: also compute GradDrop scores' },
      steps: STEPS_OPTION,
      compare: { type: 'boolean', default: false, description: 'node methods: also run activation patching and report the correlation and the pass counts' },
      ...TASK_OPTIONS,
      ...FEATURE_OPTIONS,
    },
    async run(ctx, options) {
      const model = asHookedTransformer(ctx.model, 'attribute');
      if (options.sae) refuseNodeSetOptions(options);
      const task = await loadTask(model, options, ctx.rng, 'attribute');
      ctx.log(task.description);
      if (options.sae) return attributeFeatures(ctx, model, task, await loadDictionaries(model, options.sae, loadDictionary, 'attribute'), options);
      const method = options.method;
      if (method === 'eap' || method === 'eap-ig-inputs' || method === 'eap-ig-activations') {
        const scores = await ctx.runDir.time(method, () => edgeScores(method, model, task.pairs, task.metric, { steps: options.steps }));
        const artifacts = await writeEdgeScores(ctx, scores);
        const ranked = rankedEdges(scores.graph, scores.scores).slice(0, 5);
        return {
          summary: [
            `${method}: ${scores.graph.nEdges} edges, ${scores.cost.forward} forward and ${scores.cost.backward} backward passes`,
            `M(clean) = ${scores.cleanMetric.toFixed(4)}, M(corrupted) = ${scores.corruptedMetric.toFixed(4)}; strongest edges:`,
            ...ranked.map(([u, v, s]) => `  ${scores.graph.edgeName(u, v)}: ${s.toFixed(4)}`),
          ],
          artifacts,
        };
      }
      const patching = { preset: options.preset, direction: options.direction };
      const result = await ctx.runDir.time(method, () =>
        method === 'atp' ? attributionPatching(model, task.pairs, task.metric, patching) : atpStar(model, task.pairs, task.metric, { ...patching, gradDrop: options.gradDrop }),
      );
      const extra: Record<string, unknown> = {};
      const summary = [`${method} (${options.direction}) over ${options.preset}: ${result.values.size} nodes, ${result.cost.forward} forward and ${result.cost.backward} backward passes`];
      const gradDrop = (result as AtpStarResult).gradDrop;
      if (gradDrop) extra.gradDrop = Array.from(gradDrop.values.data());
      if (options.compare) {
        const truth = await ctx.runDir.time('patch', () => activationPatching(model, task.pairs, task.metric, patching));
        const r = pearson(result.values.data(), truth.values.data());
        extra.comparison = { pearson: r, activationPatchingCost: truth.cost, activationPatching: Array.from(truth.values.data()) };
        summary.push(`activation patching: ${truth.cost.forward} forward passes; Pearson r = ${r.toFixed(4)}`);
      }
      const artifacts = await writeNodeResult(ctx, 'attribution', result, { method, ...extra });
      summary.push('largest estimates:', ...describeTop(result));
      return { summary, artifacts };
    },
  });
}

/** `attribute` without a dictionary loader. */
export const attributeCommand = createAttributeCommand();
