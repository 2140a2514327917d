import { HookedTransformer } from '@glassbox/model';
import { add, narrow, noGrad, squeeze, sub } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { EdgeGraph } from './edge-graph.ts';
import { edgeForward, upstreamOutputs } from './edge-forward.ts';
import { TINY_CONFIGS, tinyModel, tinyPairs } from './fixtures/tiny-models.ts';

describe('edge graph', () => {
  test('GPT-2 small has 157 upstream nodes, 445 downstream nodes and 32,491 edges', () => {
    const graph = new EdgeGraph({ nLayers: 12, nHeads: 12, attnOnly: false, parallelAttnMlp: false });
    expect([graph.nUpstream, graph.nDownstream, graph.nEdges]).toEqual([157, 445, 32491]);
    expect(graph.edgeName(graph.upstreamIndex('a0.h1'), graph.downstreamIndex('a1.h0<k>'))).toBe('a0.h1->a1.h0<k>');
    expect(graph.isEdge(graph.upstreamIndex('a3.h0'), graph.downstreamIndex('m3'))).toBe(true);
    expect(graph.isEdge(graph.upstreamIndex('a3.h0'), graph.downstreamIndex('a3.h1<q>'))).toBe(false);
    expect(graph.isEdge(graph.upstreamIndex('m3'), graph.downstreamIndex('a3.h1<q>'))).toBe(false);
  });

  test('parallel blocks: heads do not feed their own layer MLP', () => {
    const graph = new EdgeGraph({ nLayers: 2, nHeads: 2, attnOnly: false, parallelAttnMlp: true });
    expect(graph.isEdge(graph.upstreamIndex('a0.h0'), graph.downstreamIndex('m0'))).toBe(false);
    expect(graph.isEdge(graph.upstreamIndex('a0.h0'), graph.downstreamIndex('m1'))).toBe(true);
    expect(graph.inputsOf(graph.upstreamIndex('a1.h1')).map((v) => graph.downstream[v]!.id)).toEqual(['a1.h1<q>', 'a1.h1<k>', 'a1.h1<v>']);
  });
});

describe('edge forward', () => {
  test.each(Object.keys(TINY_CONFIGS))('private inputs reproduce the model, and corrupting every edge gives the corrupted run (%s)', (name) => {
    const model = tinyModel(name);
    const pairs = tinyPairs(model);
    const graph = new EdgeGraph(model.cfg);
    const expected = noGrad(() => model.forward(pairs.clean)).data();
    assertAllClose(edgeForward(model, graph, pairs.clean).logits, expected, { atol: 1e-5, rtol: 1e-4 });
    const split = edgeForward(model, graph, pairs.clean, { inputGrads: true });
    assertAllClose(split.logits.detach(), expected, { atol: 1e-5, rtol: 1e-4 }, 'split logits');
    // The upstream outputs add up to the final residual stream, less the constant biases.
    expect(split.upstream().shape).toEqual([graph.nUpstream, 3, 9, 12]);
    const corrupted = upstreamOutputs(model, graph, pairs.corrupted);
    const all = new Float32Array(graph.nUpstream * graph.nDownstream).fill(1);
    const patched = edgeForward(model, graph, pairs.clean, { ablation: { source: corrupted.upstream, coefficients: all } });
    assertAllClose(patched.logits, corrupted.logits.data(), { atol: 1e-4, rtol: 1e-3 }, 'all edges corrupted');
  });

  test('corrupting one edge into the logits adds its difference to the unembedding input only', () => {
    const model = new HookedTransformer({ nLayers: 1, dModel: 8, nHeads: 2, dVocab: 7, nCtx: 5, attnOnly: true, normalizationType: null, seed: 5 });
    const pairs = tinyPairs(model, 2, 2);
    const graph = new EdgeGraph(model.cfg);
    const clean = upstreamOutputs(model, graph, pairs.clean);
    const corrupted = upstreamOutputs(model, graph, pairs.corrupted);
    const c = new Float32Array(graph.nUpstream * graph.nDownstream);
    const u = graph.upstreamIndex('a0.h1');
    c[u * graph.nDownstream + graph.downstreamIndex('logits')] = 1;
    const got = edgeForward(model, graph, pairs.clean, { ablation: { source: corrupted.upstream, coefficients: c } }).logits;
    const delta = noGrad(() => squeeze(narrow(sub(corrupted.upstream, clean.upstream), 0, u, 1), 0));
    const expected = noGrad(() => model.runWithHooks(pairs.clean, { fwdHooks: [['blocks.0.hook_resid_post', (r) => add(r, delta)]] }));
    assertAllClose(got, expected.data(), { atol: 1e-5, rtol: 1e-4 });
  });
});
