import type { HookedTransformer } from '@glassbox/model';
import { type Tensor, add, mul, narrow, noGrad, squeeze, sub } from '@glassbox/tensor';
import { EdgeGraph } from './edge-graph.ts';
import { type UpstreamOverride, edgeForward, edgeProducts, upstreamOutputs } from './edge-forward.ts';
import type { EdgeScores } from './edge-scores.ts';
import type { EdgeMethodOptions } from './eap.ts';
import type { AttributionMetric } from './metrics.ts';
import { PassCounter, metricValue } from './model-runs.ts';
import { type PromptPairs, checkPairs } from './prompt-pairs.ts';

export interface EapIgOptions extends EdgeMethodOptions {
  /** Integration steps m (default 5, as the EAP-IG demos). */
  steps?: number;
}

/** Row i of a stack: [n, ...] → [...]. */
function row(t: Tensor, i: number): Tensor {
  return squeeze(narrow(t, 0, i, 1), 0);
}

/** a + α (b − a) */
function lerp(a: Tensor, b: Tensor, alpha: number): Tensor {
  return add(a, mul(sub(b, a), alpha));
}

/** Runs one interpolated forward pass on the clean prompt and adds its input gradients to `sum`. */
function accumulate(model: HookedTransformer, graph: EdgeGraph, tokens: Tensor, metric: AttributionMetric, override: UpstreamOverride, counter: PassCounter, sum: Tensor | null): Tensor {
  const run = edgeForward(model, graph, tokens, { inputGrads: true, override, counter });
  run.backward(metric(run.logits));
  const g = run.inputGrads();
  return sum ? noGrad(() => add(sum, g)) : g;
}

/**
 * EAP with integrated gradients over the input (Hanna, Pezzelle and Belinkov 2024), `inputs`
 * variant: the token embedding is interpolated, e_α = ẽ + α(e − ẽ), at α_k = k/m for k = 0 … m − 1
 * (a left Riemann sum, starting at the corrupted input), and
 *
 *     score(u→v) = (z_u(x̃) − z_u(x)) · mean_k ∂M/∂in_v at e_{α_k}.
 *
 * Everything downstream of the embedding is recomputed from e_α. Cost: m + 2 forward, m backward passes.
 */
export function eapIgInputs(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: EapIgOptions = {}): EdgeScores {
  checkPairs('eapIgInputs', pairs);
  const graph = options.graph ?? new EdgeGraph(model.cfg);
  const counter = options.counter ?? new PassCounter();
  const steps = options.steps ?? 5;
  const clean = upstreamOutputs(model, graph, pairs.clean, counter);
  const corrupted = upstreamOutputs(model, graph, pairs.corrupted, counter);
  const e = row(clean.upstream, 0);
  const eTilde = row(corrupted.upstream, 0);
  let sum: Tensor | null = null;
  for (let k = 0; k < steps; k++) {
    const alpha = k / steps;
    sum = accumulate(model, graph, pairs.clean, metric, { input: () => noGrad(() => lerp(eTilde, e, alpha)) }, counter, sum);
  }
  const delta = noGrad(() => sub(corrupted.upstream, clean.upstream));
  const mean = noGrad(() => mul(sum!, 1 / steps));
  return {
    graph,
    method: 'eap-ig-inputs',
    scores: edgeProducts(graph, delta, mean),
    cleanMetric: metricValue(metric, clean.logits),
    corruptedMetric: metricValue(metric, corrupted.logits),
    cost: counter.snapshot(),
    steps,
  };
}

/**
 * EAP-IG, `activations` variant: integrated gradients layer by layer. The upstream nodes are grouped
 * by the (sub)layer that writes them: the embedding, each layer's heads, each layer's MLP. For each
 * group, m forward passes on the clean prompt replace that group's outputs by z_α = z(x̃) + α(z(x) −
 * z(x̃)) at α = k/m for k = 1 … m (everything else computed as usual, so later layers respond), and
 * edges leaving the group are scored with the mean of ∂M/∂in_v over those passes:
 *
 *     score(u→v) = (z_u(x̃) − z_u(x)) · mean_k ∂M/∂in_v |_{group(u) at α_k}.
 *
 * Cost: 2 + m·G forward and m·G backward passes for G groups (1 + 2·nLayers, or 1 + nLayers
 * without MLPs).
 */
export function eapIgActivations(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: EapIgOptions = {}): EdgeScores {
  checkPairs('eapIgActivations', pairs);
  const graph = options.graph ?? new EdgeGraph(model.cfg);
  const counter = options.counter ?? new PassCounter();
  const steps = options.steps ?? 5;
  const clean = upstreamOutputs(model, graph, pairs.clean, counter);
  const corrupted = upstreamOutputs(model, graph, pairs.corrupted, counter);
  const delta = noGrad(() => sub(corrupted.upstream, clean.upstream));
  const nDown = graph.nDownstream;
  const scores = new Float32Array(graph.nUpstream * nDown);
  const up = (i: number) => row(clean.upstream, i);
  const upTilde = (i: number) => row(corrupted.upstream, i);
  type Group = { rows: number[]; override: (alpha: number) => UpstreamOverride };
  const groups: Group[] = [{ rows: [0], override: (alpha) => ({ input: () => noGrad(() => lerp(upTilde(0), up(0), alpha)) }) }];
  for (let l = 0; l < model.cfg.nLayers; l++) {
    const layer = l;
    const headRows = graph.upstream.flatMap((n, i) => (n.kind === 'head' && n.layer === l ? [i] : []));
    groups.push({ rows: headRows, override: (alpha) => ({ z: (at) => (at === layer ? noGrad(() => lerp(corrupted.z[layer]!, clean.z[layer]!, alpha)) : undefined) }) });
    if (!model.cfg.attnOnly) {
      const row = graph.upstreamIndex(`m${l}`);
      groups.push({ rows: [row], override: (alpha) => ({ mlpOut: (at) => (at === layer ? noGrad(() => lerp(upTilde(row), up(row), alpha)) : undefined) }) });
    }
  }
  for (const group of groups) {
    let sum: Tensor | null = null;
    for (let k = 1; k <= steps; k++) sum = accumulate(model, graph, pairs.clean, metric, group.override(k / steps), counter, sum);
    const products = edgeProducts(
      graph,
      delta,
      noGrad(() => mul(sum!, 1 / steps)),
    );
    for (const u of group.rows) scores.set(products.subarray(u * nDown, (u + 1) * nDown), u * nDown);
  }
  return {
    graph,
    method: 'eap-ig-activations',
    scores,
    cleanMetric: metricValue(metric, clean.logits),
    corruptedMetric: metricValue(metric, corrupted.logits),
    cost: counter.snapshot(),
    steps,
  };
}
