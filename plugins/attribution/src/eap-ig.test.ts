import { narrow, noGrad, squeeze, sub } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { EdgeGraph } from './edge-graph.ts';
import { edgeForward, edgeProducts, upstreamOutputs } from './edge-forward.ts';
import { eapIgActivations, eapIgInputs } from './eap-ig.ts';
import { tinyModel, tinyPairs } from './fixtures/tiny-models.ts';
import { logitDiff } from './metrics.ts';

describe('EAP-IG', () => {
  const model = tinyModel('ln-sequential');
  const pairs = tinyPairs(model);
  const metric = logitDiff(pairs);
  const graph = new EdgeGraph(model.cfg);
  const clean = upstreamOutputs(model, graph, pairs.clean);
  const corrupted = upstreamOutputs(model, graph, pairs.corrupted);
  const mClean = noGrad(() => metric(clean.logits).item());
  const mCorrupted = noGrad(() => metric(corrupted.logits).item());
  const rowSum = (scores: Float32Array, rows: readonly number[]) => rows.reduce((acc, u) => acc + scores.slice(u * graph.nDownstream, (u + 1) * graph.nDownstream).reduce((a, b) => a + b, 0), 0);

  test('inputs: one step (α = 0) takes the gradient at the corrupted embedding', () => {
    const ig = eapIgInputs(model, pairs, metric, { graph, steps: 1 });
    expect(ig.cost).toEqual({ forward: 3, backward: 1 });
    const run = edgeForward(model, graph, pairs.corrupted, { inputGrads: true });
    run.backward(metric(run.logits));
    const expected = edgeProducts(
      graph,
      noGrad(() => sub(corrupted.upstream, clean.upstream)),
      run.inputGrads(),
    );
    assertAllClose(ig.scores, expected, { atol: 1e-5, rtol: 1e-3 });
  });

  test('inputs: the input node’s edges add up to M(x̃) − M(x) as the Riemann sum converges (completeness)', () => {
    const target = mCorrupted - mClean;
    const error = (steps: number) => Math.abs(rowSum(eapIgInputs(model, pairs, metric, { graph, steps }).scores, [0]) - target);
    const coarse = error(1);
    const fine = error(32);
    expect(fine).toBeLessThan(0.1 * Math.abs(target));
    expect(fine).toBeLessThan(coarse);
  });

  test('activations: each layer group’s edges add up to the effect of corrupting that group', () => {
    const steps = 16;
    const ig = eapIgActivations(model, pairs, metric, { graph, steps });
    const groups = 1 + 2 * model.cfg.nLayers;
    expect(ig.cost).toEqual({ forward: 2 + steps * groups, backward: steps * groups });
    for (const layer of [0, 1]) {
      const heads = graph.upstream.flatMap((n, i) => (n.kind === 'head' && n.layer === layer ? [i] : []));
      const patched = noGrad(() => metric(edgeForward(model, graph, pairs.clean, { override: { z: (l) => (l === layer ? corrupted.z[layer] : undefined) } }).logits).item());
      const target = patched - mClean;
      expect(Math.abs(rowSum(ig.scores, heads) - target), `heads of layer ${layer}`).toBeLessThan(0.05 * Math.abs(target) + 1e-3);
      const mlp = graph.upstreamIndex(`m${layer}`);
      const mlpPatched = noGrad(() =>
        metric(
          edgeForward(model, graph, pairs.clean, {
            override: { mlpOut: (l) => (l === layer ? squeeze(narrow(corrupted.upstream, 0, mlp, 1), 0) : undefined) },
          }).logits,
        ).item(),
      );
      expect(Math.abs(rowSum(ig.scores, [mlp]) - (mlpPatched - mClean)), `mlp ${layer}`).toBeLessThan(0.05 * Math.abs(mlpPatched - mClean) + 1e-3);
    }
  });
});
