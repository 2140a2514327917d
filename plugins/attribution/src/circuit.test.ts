import { Generator } from '@glassbox/tensor';
import { describe, expect, test } from 'vitest';
import { CircuitEvaluator, defaultSizes, faithfulnessCurve } from './circuit-evaluation.ts';
import { circuitGraphJSON } from './circuit-graph.ts';
import { type Circuit, circuitNodes, circuitSize, pruneDangling, selectGreedy, selectThreshold, selectTopN } from './circuit-selection.ts';
import { EdgeGraph } from './edge-graph.ts';
import { eap } from './eap.ts';
import { tinyModel, tinyPairs } from './fixtures/tiny-models.ts';
import { logitDiff } from './metrics.ts';

const graph = new EdgeGraph({ nLayers: 2, nHeads: 2, attnOnly: false, parallelAttnMlp: false });
const randomScores = (seed: number) => {
  const g = Generator.fromSeed(seed);
  const s = new Float32Array(graph.nUpstream * graph.nDownstream);
  for (const [u, v] of graph.edges()) s[u * graph.nDownstream + v] = g.uniform() * 2 - 1;
  return s;
};
const idx = (name: string) => {
  const [u, v] = graph.edgeOf(name);
  return u * graph.nDownstream + v;
};
const circuitOf = (names: string[]): Circuit => {
  const edges = new Uint8Array(graph.nUpstream * graph.nDownstream);
  for (const n of names) edges[idx(n)] = 1;
  return { graph, edges };
};
const names = (c: Circuit) => graph.edges().flatMap(([u, v]) => (c.edges[u * graph.nDownstream + v] ? [graph.edgeName(u, v)] : []));

describe('circuit selection', () => {
  test('top-n and threshold rank by |score|', () => {
    const s = new Float32Array(graph.nUpstream * graph.nDownstream);
    s[idx('input->logits')] = 0.5;
    s[idx('a0.h1->a1.h0<k>')] = -0.9;
    s[idx('m1->logits')] = 0.2;
    expect(names(selectTopN(graph, s, 2))).toEqual(['input->logits', 'a0.h1->a1.h0<k>']);
    expect(names(selectTopN(graph, s, 1, { signed: true }))).toEqual(['input->logits']);
    expect(circuitSize(selectThreshold(graph, s, 0.3))).toBe(2);
  });

  test('greedy grows from the logits: every chosen edge feeds the logits or a node already chosen', () => {
    const s = randomScores(3);
    const c = selectGreedy(graph, s, 12);
    expect(circuitSize(c)).toBe(12);
    const best = graph.edges().filter(([, v]) => v === graph.nDownstream - 1).sort(([a], [b]) => Math.abs(s[b * graph.nDownstream + graph.nDownstream - 1]!) - Math.abs(s[a * graph.nDownstream + graph.nDownstream - 1]!))[0]!;
    expect(c.edges[best[0] * graph.nDownstream + best[1]]).toBe(1);
    for (const [u, v] of graph.edges()) {
      if (!c.edges[u * graph.nDownstream + v]) continue;
      const owner = graph.ownerOf(v);
      const ownerUsed = owner === -1 || Array.from({ length: graph.nDownstream }, (_, w) => c.edges[owner * graph.nDownstream + w]).some(Boolean);
      expect(ownerUsed, graph.edgeName(u, v)).toBe(true);
    }
  });

  test('pruning removes edges out of nodes the input cannot reach and into nodes that cannot reach the logits', () => {
    const c = circuitOf(['input->a0.h0<q>', 'a0.h0->logits', 'a1.h1->logits', 'a0.h1->a1.h1<v>', 'input->a1.h0<k>', 'm0->a1.h0<v>']);
    expect(names(pruneDangling(c))).toEqual(['input->a0.h0<q>', 'a0.h0->logits']);
    expect([...circuitNodes(pruneDangling(c))].sort()).toEqual(['a0.h0', 'input', 'logits']);
  });
});

describe('circuit evaluation', () => {
  const model = tinyModel('ln-sequential');
  const pairs = tinyPairs(model);
  const metric = logitDiff(pairs);
  const g = new EdgeGraph(model.cfg);
  const evaluator = new CircuitEvaluator(model, g, pairs, metric);
  const scores = eap(model, pairs, metric, { graph: g }).scores;

  test('the whole model is f = 1 and the empty circuit f = 0', () => {
    const all = selectTopN(g, scores, g.nEdges);
    expect(evaluator.faithfulness(evaluator.evaluate(all))).toBeCloseTo(1, 4);
    expect(evaluator.faithfulness(evaluator.evaluate(selectTopN(g, scores, 0)))).toBeCloseTo(0, 4);
  });

  test('pruning dangling edges leaves M(C) unchanged', () => {
    for (const n of [5, 20, 60]) {
      const c = selectTopN(g, scores, n);
      const pruned = pruneDangling(c);
      expect(circuitSize(pruned)).toBeLessThanOrEqual(n);
      expect(evaluator.evaluate(pruned)).toBeCloseTo(evaluator.evaluate(c), 4);
    }
  });

  test('the curve runs from the empty circuit to the model, with its areas', () => {
    const whole = faithfulnessCurve(evaluator, scores, { sizes: [g.nEdges] });
    expect(whole.cpr).toBeCloseTo(0.5, 6);
    expect(whole.cmd).toBeCloseTo(0.5, 6);
    const curve = faithfulnessCurve(evaluator, scores, { prune: true });
    expect(curve.points.map((p) => p.requested)).toEqual(defaultSizes(g.nEdges));
    expect(curve.points.at(-1)!.faithfulness).toBeCloseTo(1, 4);
    expect(curve.cpr).toBeGreaterThan(0);
  });

  test('the graph JSON lists nodes and the circuit edges, strongest first', () => {
    const c = pruneDangling(selectTopN(g, scores, 10));
    const json = circuitGraphJSON(g, scores, c, { metadata: { method: 'eap' } });
    expect(json.format).toBe('glassbox.circuit-graph');
    expect(json.nodes.length).toBe(g.nUpstream + 1);
    expect(json.edges.length).toBe(circuitSize(c));
    expect(json.edges.every((e) => e.inCircuit)).toBe(true);
    const mags = json.edges.map((e) => Math.abs(e.score));
    expect(mags).toEqual([...mags].sort((a, b) => b - a));
    expect(JSON.parse(JSON.stringify(json)).metadata).toEqual({ method: 'eap' });
    expect(circuitGraphJSON(g, scores, c, { allEdges: true }).edges.length).toBe(g.nEdges);
  });
});
