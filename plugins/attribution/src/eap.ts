import type { HookedTransformer } from '@glassbox/model';
import { noGrad, sub } from '@glassbox/tensor';
import { EdgeGraph } from './edge-graph.ts';
import { edgeForward, edgeProducts, upstreamOutputs } from './edge-forward.ts';
import type { EdgeScores } from './edge-scores.ts';
import type { AttributionMetric } from './metrics.ts';
import { PassCounter, metricValue } from './model-runs.ts';
import { type PromptPairs, checkPairs } from './prompt-pairs.ts';

export interface EdgeMethodOptions {
  graph?: EdgeGraph;
  counter?: PassCounter;
}

/**
 * Edge attribution patching (EAP; Syed, Rager and Conmy 2023):
 *
 *     score(u→v) = Σ_{batch, pos, d_model} (z_u(x̃) − z_u(x)) · ∂M/∂in_v at x,
 *
 * averaged over the batch (M is a batch mean). in_v is v's private copy of the residual stream
 * (see edgeForward), so ∂M/∂in_v is the total derivative through v alone, including v's own
 * normalisation; the only linearisation is the first-order one in the edge's contribution
 * (score = ∂M/∂c_{uv} at c = 0 in the edge-mask form). Cost: 2 forward passes, 1 backward pass.
 */
export function eap(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: EdgeMethodOptions = {}): EdgeScores {
  checkPairs('eap', pairs);
  const graph = options.graph ?? new EdgeGraph(model.cfg);
  const counter = options.counter ?? new PassCounter();
  const clean = edgeForward(model, graph, pairs.clean, { inputGrads: true, counter });
  const value = metric(clean.logits);
  clean.backward(value);
  const corrupted = upstreamOutputs(model, graph, pairs.corrupted, counter);
  const delta = noGrad(() => sub(corrupted.upstream, clean.upstream().detach()));
  return {
    graph,
    method: 'eap',
    scores: edgeProducts(graph, delta, clean.inputGrads()),
    cleanMetric: value.item(),
    corruptedMetric: metricValue(metric, corrupted.logits),
    cost: counter.snapshot(),
  };
}
