import { type RunContext, type RunResult, defineCommand } from '@glassbox/core';
import { saveSaeLens } from '../formats/saelens.ts';
import { ARCHITECTURES, type Architecture, saeConfig } from '../sae/config.ts';
import { mmcs } from '../synthetic/sparse-features.ts';
import { type TrainRunSpec, trainSaes } from '../train/trainer.ts';
import { SOURCE_OPTIONS, openSource } from './sources.ts';

export const TRAIN_SAE_OPTIONS = {
  architecture: { type: 'enum', default: 'topk', choices: ARCHITECTURES, description: 'SAE architecture' },
  hook: { type: 'string', default: '', description: 'TransformerLens hook the activations come from: read from --model with source=model, and recorded in the SAE config' },
  dSae: { type: 'list', default: [0], integer: true, min: 0, description: 'latents; 0 means expansion × d_in; several values train a grid' },
  expansion: { type: 'number', default: 8, min: 0, description: 'latents per input dimension when dSae is 0' },
  k: { type: 'list', default: [32], min: 0, description: 'active latents per token (topk family); several values train a grid' },
  sparsityCoefficient: { type: 'list', default: [1], min: 0, description: 'L1 / L0 coefficient (standard, gated, jumprelu); several values train a grid' },
  sparsityWarmup: { type: 'integer', default: 0, min: 0, description: 'steps of linear warmup of the sparsity coefficient' },
  steps: { type: 'integer', default: 1000, min: 1, description: 'training steps' },
  batchSize: { type: 'integer', default: 4096, min: 1, description: 'activations per step' },
  lr: { type: 'number', default: 3e-4, min: 0, description: 'Adam learning rate' },
  lrWarmup: { type: 'integer', default: 0, min: 0, description: 'steps of linear learning-rate warmup' },
  lrDecay: { type: 'enum', default: 'none', choices: ['none', 'linear', 'cosine'] as const, description: 'learning-rate decay' },
  decoderNorm: { type: 'enum', default: 'default', choices: ['default', 'unit', 'penalty'] as const, description: 'unit-norm decoder, or decoder-norm-weighted penalty' },
  bDecInit: { type: 'enum', default: 'default', choices: ['default', 'geometric_median', 'mean', 'zeros'] as const, description: 'b_dec initialisation' },
  deadWindow: { type: 'integer', default: 10_000_000, min: 1, description: 'tokens without firing after which a latent is dead' },
  auxkCoefficient: { type: 'number', default: 1 / 32, min: 0, description: 'AuxK loss weight (topk family)' },
  resampleEvery: { type: 'integer', default: 0, min: 0, description: 'resample dead latents every this many steps (standard, gated, jumprelu)' },
  normalize: { type: 'enum', default: 'none', choices: ['none', 'expected_average_norm'] as const, description: 'scale inputs to average norm √d_in during training' },
  checkpointEvery: { type: 'integer', default: 500, min: 1, description: 'steps between checkpoints' },
  ...SOURCE_OPTIONS,
} as const;

function product<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

/** Turns the command's options into one run per grid point; `metadata` (what the activations were read over) goes into each SAE's config. */
export function gridRuns(
  options: { architecture: Architecture; hook: string; dSae: number[]; expansion: number; k: number[]; sparsityCoefficient: number[] } & Record<string, unknown>,
  dIn: number,
  seed: number,
  metadata: Record<string, unknown> = {},
): TrainRunSpec[] {
  const o = options as typeof options & {
    lr: number;
    lrWarmup: number;
    lrDecay: 'none' | 'linear' | 'cosine';
    decoderNorm: string;
    bDecInit: string;
    deadWindow: number;
    auxkCoefficient: number;
    resampleEvery: number;
    sparsityWarmup: number;
    steps: number;
  };
  const usesK = ['topk', 'batchtopk', 'matryoshka_batchtopk'].includes(o.architecture);
  const widths = o.dSae.map((w) => (w > 0 ? w : Math.max(1, Math.round(o.expansion * dIn))));
  const ks = usesK ? o.k : [0];
  const coefficients = usesK ? [0] : o.sparsityCoefficient;
  return product<number>([widths, ks, coefficients]).map(([dSae, k, coefficient], i) => {
    const name = [`${o.architecture}`, `w${dSae}`, ...(usesK ? [`k${k}`] : [`c${coefficient}`])].join('-');
    return {
      name,
      sae: saeConfig({ architecture: o.architecture, dIn, dSae: dSae!, hookName: o.hook, ...(usesK ? { k: Math.min(k!, dSae!) } : {}), ...(Object.keys(metadata).length > 0 ? { metadata } : {}) }),
      seed: seed + i,
      lr: o.lr,
      lrWarmupSteps: o.lrWarmup,
      lrDecay: o.lrDecay,
      sparsityCoefficient: coefficient,
      sparsityWarmupSteps: o.sparsityWarmup,
      ...(o.decoderNorm === 'default' ? {} : { decoderNorm: o.decoderNorm as 'unit' | 'penalty' }),
      ...(o.bDecInit === 'default' ? {} : { bDecInit: o.bDecInit as 'geometric_median' | 'mean' | 'zeros' }),
      deadWindowTokens: o.deadWindow,
      auxk: { coefficient: o.auxkCoefficient },
      resampleEverySteps: o.resampleEvery,
    };
  });
}

/**
 * `glassbox train-sae`: trains one SAE or a grid on one pass over the activations, checkpointing
 * into the run directory (so `--resume` continues it), logging metrics.jsonl, and saving each SAE
 * as a SAELens folder under `saes/<name>`. On the synthetic source it also reports MMCS; with
 * source=model it streams `--hook` of `--model` over tokens or text, so d_in is the hook's width,
 * and cfg.json records the context size and BOS use.
 */
export const trainSaeCommand = defineCommand({
  name: 'train-sae',
  description: "train sparse autoencoders (a grid of widths, k or sparsity in one pass) on synthetic data, an activations file or a model's hook",
  options: TRAIN_SAE_OPTIONS,
  async run(ctx: RunContext, options): Promise<RunResult> {
    const seed = ctx.rng.randint(0, 2 ** 31 - 1);
    const { source, synthetic, metadata } = await openSource(options, seed, { model: ctx.model, hook: options.hook, ...(ctx.tokenizer ? { tokenizer: ctx.tokenizer } : {}) });
    const runs = gridRuns(options, source.dIn, seed, { ...metadata });
    ctx.progress.start('train-sae', options.steps, { unit: 'step' });
    let last = 0;
    // Metrics lines are appended in order, after one another.
    let logging: Promise<void> = Promise.resolve();
    const result = await trainSaes({
      source,
      runs,
      steps: options.steps,
      batchSize: options.batchSize,
      activationScale: options.normalize,
      checkpoint: { dir: ctx.runDir.file('checkpoints'), everySteps: options.checkpointEvery },
      resume: ctx.resumed,
      signal: ctx.signal,
      onProgress: (p) => {
        ctx.progress.tick(p.step - last, { 'tok/s': p.tokensPerSecond, ...Object.fromEntries(p.runs.map((r) => [`${r.name}.loss`, r.loss])) });
        last = p.step;
        for (const r of p.runs) {
          const record = { step: p.step, tokens: p.tokens, run: r.name, loss: r.loss, l0: r.l0, dead: r.deadFraction, lr: r.lr, ...r.terms };
          logging = logging.then(() => ctx.runDir.logMetrics(record));
        }
      },
    });
    await logging;
    ctx.progress.finish();
    if (result.status === 'aborted') return { summary: [`stopped at step ${result.steps}; resume to continue`] };
    const artifacts: Record<string, string> = {};
    const summary: string[] = [`trained ${runs.length} SAE(s) for ${result.steps} steps (${result.tokens} tokens, ${result.tokensPerSecond.toFixed(0)} tok/s)`];
    for (const run of result.runs) {
      const folder = `saes/${run.name}`;
      await saveSaeLens(run.sae, ctx.runDir.file(folder));
      artifacts[run.name] = folder;
      const score = synthetic ? mmcs(synthetic.features, run.sae.W_dec.data() as Float32Array, source.dIn) : null;
      summary.push(`${run.name}: loss ${run.metrics?.loss.toPrecision(4)} L0 ${run.metrics?.l0.toFixed(2)}${score === null ? '' : ` MMCS ${score.toFixed(4)}`}`);
    }
    await ctx.runDir.writeJson('train-summary.json', { steps: result.steps, tokens: result.tokens, tokensPerSecond: result.tokensPerSecond, activationScale: result.activationScale, runs: result.runs.map((r) => r.metrics) });
    return { summary, artifacts };
  },
});
