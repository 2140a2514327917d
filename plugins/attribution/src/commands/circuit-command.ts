import { defineCommand } from '@glassbox/core';
import { CircuitEvaluator, faithfulnessCurve } from '../circuit-evaluation.ts';
import { circuitGraphJSON } from '../circuit-graph.ts';
import { circuitSize, pruneDangling, selectCircuit } from '../circuit-selection.ts';
import { EdgeGraph } from '../edge-graph.ts';
import { asHookedTransformer } from '../model-runs.ts';
import { EDGE_METHODS, STEPS_OPTION, edgeScores, writeEdgeScores } from './attribute-command.ts';
import { TASK_OPTIONS, loadTask } from './task.ts';

export const CIRCUIT_OPTIONS = {
  method: { type: 'enum', default: 'eap-ig-inputs', choices: EDGE_METHODS, description: 'edge scoring method' },
  selection: { type: 'enum', default: 'topn', choices: ['topn', 'threshold', 'greedy'], description: 'how edges are chosen from the scores' },
  size: { type: 'integer', default: 50, min: 0, description: 'edges to keep (topn, greedy)' },
  threshold: { type: 'number', default: 0.01, min: 0, description: 'minimum |score| (threshold)' },
  prune: { type: 'boolean', default: true, description: 'remove dangling edges' },
  curve: { type: 'boolean', default: true, description: 'also evaluate the faithfulness curve over circuit sizes' },
  steps: STEPS_OPTION,
  ...TASK_OPTIONS,
} as const;

/** `glassbox circuit`: score edges, select and prune a circuit, evaluate it exactly, write its graph. */
export const circuitCommand = defineCommand({
  name: 'circuit',
  description: 'circuit discovery: edge scores, selection, pruning, exact faithfulness and a circuit graph',
  needsModel: true,
  options: CIRCUIT_OPTIONS,
  async run(ctx, options) {
    const model = asHookedTransformer(ctx.model, 'circuit');
    const task = await loadTask(model, options, ctx.rng, 'circuit');
    ctx.log(task.description);
    const graph = new EdgeGraph(model.cfg);
    const scores = await ctx.runDir.time(options.method, () => edgeScores(options.method, model, task.pairs, task.metric, { graph, steps: options.steps }));
    const artifacts = await writeEdgeScores(ctx, scores);
    const amount = options.selection === 'threshold' ? options.threshold : options.size;
    let circuit = selectCircuit(graph, scores.scores, options.selection, amount);
    const selected = circuitSize(circuit);
    if (options.prune) circuit = pruneDangling(circuit);
    const evaluator = new CircuitEvaluator(model, graph, task.pairs, task.metric);
    const metric = await ctx.runDir.time('evaluate', () => evaluator.evaluate(circuit));
    const f = evaluator.faithfulness(metric);
    const summary = [
      `${options.method}: ${graph.nEdges} edges scored with ${scores.cost.forward} forward and ${scores.cost.backward} backward passes`,
      `circuit: ${circuitSize(circuit)} edges (${selected} selected by ${options.selection}${options.prune ? ', then pruned' : ''}); M(C) = ${metric.toFixed(4)}, M(model) = ${evaluator.full.toFixed(4)}, M(∅) = ${evaluator.empty.toFixed(4)}, f(C) = ${f.toFixed(4)}`,
    ];
    const metadata: Record<string, unknown> = {
      method: options.method,
      steps: scores.steps ?? null,
      selection: options.selection,
      amount,
      pruned: options.prune,
      metric: options.metric,
      task: task.description,
      circuitMetric: metric,
      fullMetric: evaluator.full,
      emptyMetric: evaluator.empty,
      faithfulness: f,
      cost: scores.cost,
    };
    if (options.curve) {
      const curve = await ctx.runDir.time('curve', () => faithfulnessCurve(evaluator, scores.scores, { prune: options.prune, method: options.selection === 'greedy' ? 'greedy' : 'topn' }));
      for (const p of curve.points) await ctx.runDir.logMetrics({ edges: p.requested, kept: p.edges, metric: p.metric, faithfulness: p.faithfulness });
      await ctx.runDir.writeJson('faithfulness.json', curve);
      artifacts.faithfulness = 'faithfulness.json';
      metadata.cpr = curve.cpr;
      metadata.cmd = curve.cmd;
      summary.push(`faithfulness curve over ${curve.points.length} sizes: CPR = ${curve.cpr.toFixed(4)}, CMD = ${curve.cmd.toFixed(4)}`);
    }
    await ctx.runDir.writeJson('circuit.json', circuitGraphJSON(graph, scores.scores, circuit, { metadata }));
    artifacts.circuit = 'circuit.json';
    return { summary, artifacts };
  },
});
