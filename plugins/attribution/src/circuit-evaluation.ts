import type { HookedTransformer } from '@glassbox/model';
import { ValueError } from '@glassbox/tensor';
import type { EdgeGraph } from './edge-graph.ts';
import { edgeForward, upstreamOutputs } from './edge-forward.ts';
import { type Circuit, type SelectionMethod, circuitSize, pruneDangling, selectCircuit } from './circuit-selection.ts';
import type { AttributionMetric } from './metrics.ts';
import { type PassCount, PassCounter, metricValue } from './model-runs.ts';
import { type PromptPairs, checkPairs } from './prompt-pairs.ts';

/**
 * Exact circuit evaluation on a batch of prompt pairs: the clean prompt is run with every edge
 * outside the circuit corrupted, in_v = r_v + Σ_{u→v ∉ C} (z_u(x̃) − z_u), with z_u recomputed in
 * the same pass (edgeForward); M(C) is the metric of that run. M(model) is the clean run and M(∅)
 * the corrupted run (every edge corrupted).
 */
export class CircuitEvaluator {
  readonly model: HookedTransformer;
  readonly graph: EdgeGraph;
  readonly pairs: PromptPairs;
  readonly metric: AttributionMetric;
  readonly counter: PassCounter;
  /** M(model): the clean run. */
  readonly full: number;
  /** M(∅): every edge corrupted, which is the corrupted run. */
  readonly empty: number;
  readonly #source;

  constructor(model: HookedTransformer, graph: EdgeGraph, pairs: PromptPairs, metric: AttributionMetric, counter = new PassCounter()) {
    checkPairs('CircuitEvaluator', pairs);
    this.model = model;
    this.graph = graph;
    this.pairs = pairs;
    this.metric = metric;
    this.counter = counter;
    const clean = upstreamOutputs(model, graph, pairs.clean, counter);
    const corrupted = upstreamOutputs(model, graph, pairs.corrupted, counter);
    this.#source = corrupted.upstream;
    this.full = metricValue(metric, clean.logits);
    this.empty = metricValue(metric, corrupted.logits);
  }

  /** M(C), one forward pass. */
  evaluate(c: Circuit): number {
    if (c.graph !== this.graph && (c.graph.nUpstream !== this.graph.nUpstream || c.graph.nDownstream !== this.graph.nDownstream)) {
      throw new ValueError('the circuit belongs to another graph', { op: 'CircuitEvaluator.evaluate', arg: 'circuit' });
    }
    const coefficients = new Float32Array(c.edges.length);
    for (let i = 0; i < coefficients.length; i++) coefficients[i] = c.edges[i] ? 0 : 1;
    const run = edgeForward(this.model, this.graph, this.pairs.clean, { ablation: { source: this.#source, coefficients }, counter: this.counter });
    return metricValue(this.metric, run.logits);
  }

  /** f(C) = (M(C) − M(∅)) / (M(model) − M(∅)). */
  faithfulness(metricOfCircuit: number): number {
    return (metricOfCircuit - this.empty) / (this.full - this.empty);
  }
}

export interface CurvePoint {
  /** Edges selected before pruning. */
  readonly requested: number;
  /** Edges in the evaluated circuit (after pruning, if asked). */
  readonly edges: number;
  readonly metric: number;
  readonly faithfulness: number;
}

export interface FaithfulnessCurve {
  readonly points: readonly CurvePoint[];
  readonly fullMetric: number;
  readonly emptyMetric: number;
  /**
   * MIB's area metrics over the fraction of edges x = edges / nEdges in [0, 1], with the empty
   * circuit (f = 0) and the whole model (f = 1) as end points, by the trapezoid rule: CPR = ∫ f dx
   * (higher is better), CMD = ∫ |1 − f| dx (lower is better).
   */
  readonly cpr: number;
  readonly cmd: number;
  readonly cost: PassCount;
}

export interface CurveOptions {
  /** Circuit sizes (edge counts) to evaluate; default a log-spaced ladder up to every edge. */
  sizes?: readonly number[];
  method?: Exclude<SelectionMethod, 'threshold'>;
  prune?: boolean;
  signed?: boolean;
}

/** 1, 2, 5, 10, 20, 50, … below n, then n. */
export function defaultSizes(n: number): number[] {
  const out: number[] = [];
  for (let scale = 1; scale < n; scale *= 10) for (const m of [1, 2, 5]) if (m * scale < n) out.push(m * scale);
  out.push(n);
  return out;
}

/** Area under y(x) by the trapezoid rule (x ascending). */
function trapezoid(xs: readonly number[], ys: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((xs[i]! - xs[i - 1]!) * (ys[i]! + ys[i - 1]!)) / 2;
  return area;
}

/** The faithfulness curve of the circuits a score ranking selects at each size, and its areas. */
export function faithfulnessCurve(evaluator: CircuitEvaluator, scores: Float32Array, options: CurveOptions = {}): FaithfulnessCurve {
  const graph = evaluator.graph;
  const total = graph.nEdges;
  const sizes = [...(options.sizes ?? defaultSizes(total))].filter((n) => n > 0 && n <= total).sort((a, b) => a - b);
  const points: CurvePoint[] = sizes.map((requested) => {
    let c = selectCircuit(graph, scores, options.method ?? 'topn', requested, { signed: options.signed });
    if (options.prune) c = pruneDangling(c);
    const metric = requested === total && !options.prune ? evaluator.full : evaluator.evaluate(c);
    return { requested, edges: circuitSize(c), metric, faithfulness: evaluator.faithfulness(metric) };
  });
  const xs = [0, ...points.map((p) => p.requested / total)];
  const fs = [0, ...points.map((p) => p.faithfulness)];
  if (xs[xs.length - 1] !== 1) {
    xs.push(1);
    fs.push(1);
  }
  return {
    points,
    fullMetric: evaluator.full,
    emptyMetric: evaluator.empty,
    cpr: trapezoid(xs, fs),
    cmd: trapezoid(
      xs,
      fs.map((f) => Math.abs(1 - f)),
    ),
    cost: evaluator.counter.snapshot(),
  };
}
