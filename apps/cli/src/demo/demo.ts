import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProgressReporter, RunDirectory } from '@glassbox/core';
import { repeatedRandomTokens } from '@glassbox/model';
import { Generator, getBackend, noGrad } from '@glassbox/tensor';
import { circuitGraph, heatmap, histogram, lineChart } from '../report/plots.ts';
import { describeInductionCircuit } from './circuit-summary.ts';
import { DEMO_ORGANISM, DEMO_SAE } from './demo-config.ts';
import { circuitStage } from './stage-circuit.ts';
import { saeStage } from './stage-sae.ts';
import { trainStage } from './stage-train.ts';

export interface DemoOptions {
  seed: number;
  out: string;
  progress: ProgressReporter;
  signal: AbortSignal;
  log: (line: string) => void;
}

const fmt = (v: number) => v.toFixed(3);

/**
 * `glassbox demo`: trains the induction organism, watches its induction head form, finds the
 * induction circuit by patching and attribution, and writes everything to one run directory.
 */
export async function runDemo(options: DemoOptions): Promise<string> {
  const run = await RunDirectory.create({ root: options.out, name: 'demo', command: ['glassbox', 'demo'], config: { organism: DEMO_ORGANISM }, seed: options.seed, backend: getBackend().name });
  options.log(`run directory: ${run.path}`);
  const plots = join(run.path, 'plots');
  await mkdir(plots, { recursive: true });
  const plot = async (name: string, svg: Promise<string>) => {
    await writeFile(join(plots, name), await svg);
    return `plots/${name}`;
  };

  const trained = await run.time('train', () => trainStage({ runPath: run.path, seed: options.seed, progress: options.progress, signal: options.signal }));
  if (options.signal.aborted) {
    await run.finish('interrupted');
    return run.path;
  }
  const final = trained.checkpoints.at(-1)!;
  const steps = trained.checkpoints.map((c) => c.step);
  const lossPlot = await plot(
    'loss.svg',
    lineChart({ title: 'Training loss (checkpoints dashed)', xTitle: 'step', yTitle: 'loss', series: [{ name: 'train loss', points: trained.losses.map((l, i) => [i + 1, l] as const) }], markers: steps }),
  );
  const heads = final.induction[1]!.map((_, h) => h);
  const inductionPlot = await plot(
    'induction-score.svg',
    lineChart({
      title: 'Induction score of each layer-1 head over training',
      xTitle: 'step',
      yTitle: 'induction score',
      series: heads.map((h) => ({ name: `L1H${h}`, points: trained.checkpoints.map((c) => [c.step, c.induction[1]![h]!] as const) })),
    }),
  );

  const sae = await run.time('sae', () => saeStage({ runPath: run.path, model: trained.model, seed: options.seed, progress: options.progress, signal: options.signal }));
  if (options.signal.aborted) {
    await run.finish('interrupted');
    return run.path;
  }
  const densityPlot = await plot(
    'sae-density.svg',
    histogram({ title: 'SAE latent density (log10 fraction of tokens firing; dead latents not shown)', xTitle: 'log10 density', values: Array.from(sae.metrics.featureDensity).filter((d) => d > 0).map(Math.log10), bins: 30 }),
  );
  const m = sae.metrics;
  const d = sae.downstream;
  const latentRows = sae.topLatents
    .map((l) => {
      const ex = l.top
        .slice(0, 3)
        .map((e) => `${e.context.window.map((t, i) => (i === e.context.focus ? `**${t}**` : String(t))).join(' ')} (${e.activation.toFixed(2)})`)
        .join('; ');
      return `| ${l.latent} | ${l.count} | ${ex} |`;
    })
    .join('\n');

  const circuit = await run.time('circuit', () => circuitStage({ runPath: run.path, model: trained.model, seed: options.seed, progress: options.progress, signal: options.signal }));
  const found = describeInductionCircuit(final, circuit.circuit);

  // Attention patterns of the two heads of the circuit on one repeated-random-token prompt.
  const halfLen = Math.floor((DEMO_ORGANISM.nCtx - 1) / 2);
  const prompt = repeatedRandomTokens(Generator.fromSeed(options.seed + 7), { batch: 1, halfLen, dVocab: DEMO_ORGANISM.dVocab });
  const patterns = noGrad(() => trained.model.runWithCache(prompt, { namesFilter: (n) => n.endsWith('hook_pattern') }).cache);
  const positions = Array.from({ length: 1 + 2 * halfLen }, (_, i) => String(i));
  const patternPlot = async (layer: number, head: number, role: string) => {
    const p = patterns.act('pattern', layer).data(); // [1, head, q, k]
    const n = positions.length;
    const values = positions.map((_, q) => positions.map((__, k) => p[(head * n + q) * n + k]!));
    return plot(`pattern-L${layer}H${head}.svg`, heatmap({ title: `L${layer}H${head} attention (${role})`, rowTitle: 'query position', columnTitle: 'key position', rows: positions, columns: positions, values, cellSize: 14 }));
  };
  const prevPattern = await patternPlot(0, found.previousTokenHead.head, 'previous-token head');
  const indPattern = await patternPlot(1, found.inductionHead.head, 'induction head');

  const labels = (j: typeof circuit.patching) => [j.axes[0]!.labels, j.axes[1]!.labels] as const;
  const [layers, headLabels] = labels(circuit.patching);
  const patchPlot = await plot('patching.svg', heatmap({ title: 'Activation patching: head outputs (denoising, logit diff)', rowTitle: 'layer', columnTitle: 'head', rows: layers, columns: headLabels, values: circuit.patching.values, cellSize: 48 }));
  const atpPlot = await plot('atp.svg', heatmap({ title: 'AtP estimate of the same', rowTitle: 'layer', columnTitle: 'head', rows: layers, columns: headLabels, values: circuit.attribution.values, cellSize: 48 }));
  const inCircuit = circuit.circuit.edges.filter((e) => e.inCircuit);
  const used = new Set(inCircuit.flatMap((e) => [e.source, e.target]));
  const graphPlot = await plot(
    'circuit.svg',
    circuitGraph({
      title: 'EAP circuit (edge colour and width: score)',
      nodes: circuit.circuit.nodes.filter((n) => used.has(n.id)).map((n) => ({ id: n.id, layer: n.layer + 1, label: n.kind === 'head' ? `L${n.layer}H${n.head}` : n.id })),
      edges: inCircuit.map((e) => ({ from: e.source, to: e.target, score: e.score })),
    }),
  );

  const scoreTable = trained.checkpoints
    .map((c) => `| ${c.step} | ${c.induction[1]!.map(fmt).join(' | ')} | ${c.previousToken[0]!.map(fmt).join(' | ')} | ${fmt(c.firstHalfLoss)} | ${fmt(c.secondHalfLoss)} |`)
    .join('\n');
  const report = `# Glassbox demo

Seed ${options.seed}, backend \`${getBackend().name}\`. Everything below was computed in this run; every number can be traced to a file in this folder.

## 1. An induction head forms

A 2-layer attention-only transformer (d_model ${DEMO_ORGANISM.dModel}, ${DEMO_ORGANISM.nHeads} heads, context ${DEMO_ORGANISM.nCtx}, vocabulary ${DEMO_ORGANISM.dVocab}) is trained from scratch for ${DEMO_ORGANISM.steps} steps on a synthetic language full of repeated segments (\`train/\`: config, metrics.jsonl, checkpoints).

![loss](${lossPlot})

Induction and previous-token scores of every head at every checkpoint, on repeated random tokens [BOS, r, r] with |r| = ${halfLen}:

| step | ${heads.map((h) => `L1H${h} induction`).join(' | ')} | ${heads.map((h) => `L0H${h} prev-token`).join(' | ')} | loss, 1st half | loss, 2nd half |
| ---: | ${heads.map(() => '---:').join(' | ')} | ${heads.map(() => '---:').join(' | ')} | ---: | ---: |
${scoreTable}

![induction score](${inductionPlot})

![previous-token head](${prevPattern}) ![induction head](${indPattern})

## 2. A sparse autoencoder on the residual stream

A ${DEMO_SAE.architecture} SAE (d_sae ${DEMO_SAE.dSae}, k ${DEMO_SAE.k}) trained for ${DEMO_SAE.steps} steps of ${DEMO_SAE.batchSize} activations of \`${DEMO_SAE.hookName}\`, saved in SAELens format in \`sae/topk/\`. On held-out text:

| L0 | FVU | explained variance | cosine | CE loss recovered | KL score | dead | dense |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${fmt(m.l0)} | ${fmt(m.fvu)} | ${fmt(m.explainedVariance)} | ${fmt(m.cosineSimilarity)} | ${fmt(d.ceLossRecovered)} | ${fmt(d.klScore)} | ${fmt(m.deadFraction)} | ${fmt(m.denseFraction)} |

Clean loss ${fmt(d.cleanLoss)}, with the SAE spliced in ${fmt(d.splicedLoss)}, with the activation zero-ablated ${fmt(d.zeroAblationLoss)}.

![density](${densityPlot})

The most frequent latents and their strongest contexts (token ids; the token where the latent fires in bold):

| latent | fires on | top contexts (activation) |
| ---: | ---: | --- |
${latentRows}

## 3. The induction circuit

${circuit.summaries.patch.map((l) => `- ${l}`).join('\n')}

![patching](${patchPlot}) ![AtP](${atpPlot})

${circuit.summaries.attribute.map((l) => `- ${l}`).join('\n')}

${circuit.summaries.circuit.map((l) => `- ${l}`).join('\n')}

![circuit](${graphPlot})

**Circuit found.** ${found.sentence}
`;
  await run.writeText('report.md', report);
  await run.writeJson('induction-scores.json', trained.checkpoints);
  await run.finish('done');
  options.log(found.sentence);
  options.log(`report: ${join(run.path, 'report.md')}`);
  return run.path;
}
