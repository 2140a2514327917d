import { noGrad, zeros } from '@glassbox/tensor';
import { describe, expect, test } from 'vitest';
import { EdgeGraph } from './edge-graph.ts';
import { edgeForward, upstreamOutputs } from './edge-forward.ts';
import { eap } from './eap.ts';
import { rankedEdges } from './edge-scores.ts';
import { TINY_CONFIGS, tinyModel, tinyPairs } from './fixtures/tiny-models.ts';
import { logitDiff } from './metrics.ts';

describe('EAP', () => {
  test.each(Object.keys(TINY_CONFIGS))('scores are ∂M/∂c of the edge masks at c = 0, by autograd and by finite differences (%s)', (name) => {
    const model = tinyModel(name);
    const pairs = tinyPairs(model);
    const metric = logitDiff(pairs);
    const graph = new EdgeGraph(model.cfg);
    const result = eap(model, pairs, metric, { graph });
    expect(result.cost).toEqual({ forward: 2, backward: 1 });

    // Autograd through the masks: one coefficient per edge, all 0, requiring gradients.
    const corrupted = upstreamOutputs(model, graph, pairs.corrupted);
    const c = zeros([graph.nUpstream, graph.nDownstream]).setRequiresGrad(true);
    const run = edgeForward(model, graph, pairs.clean, { ablation: { source: corrupted.upstream, coefficients: c } });
    run.backward(metric(run.logits));
    const maskGrad = c.grad!.data();
    const scale = Math.max(...Array.from(result.scores, Math.abs));
    for (const [u, v] of graph.edges()) {
      const i = u * graph.nDownstream + v;
      expect(Math.abs(result.scores[i]! - maskGrad[i]!), graph.edgeName(u, v)).toBeLessThan(1e-4 * scale + 1e-6);
    }

    // Central differences for the strongest edges and a few others.
    const eps = 1e-2;
    const ranked = rankedEdges(graph, result.scores);
    const picks = [...ranked.slice(0, 4), ...ranked.filter((_, i) => i % 17 === 5).slice(0, 4)];
    for (const [u, v, score] of picks) {
      const at = (value: number) => {
        const coefficients = new Float32Array(graph.nUpstream * graph.nDownstream);
        coefficients[u * graph.nDownstream + v] = value;
        return noGrad(() => metric(edgeForward(model, graph, pairs.clean, { ablation: { source: corrupted.upstream, coefficients } }).logits).item());
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(fd - score), `${graph.edgeName(u, v)}: fd ${fd}, eap ${score}`).toBeLessThan(2e-2 * Math.abs(score) + 2e-3 * scale);
    }
  });
});
