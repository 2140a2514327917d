import { defineCommand } from '@glassbox/core';
import { trainInduction } from '@glassbox/model';
import { ValueError } from '@glassbox/tensor';

/** `glassbox train-model`: trains a model organism from scratch, with checkpoints, resumable. */
export const trainModelCommand = defineCommand({
  name: 'train-model',
  description: 'train the induction model organism (2-layer attention-only) with checkpoints',
  options: {
    organism: { type: 'enum', default: 'induction', choices: ['induction'], description: 'which organism to train' },
    steps: { type: 'integer', default: 600, min: 1, description: 'optimizer steps' },
    dModel: { type: 'integer', default: 64, min: 1, description: 'residual stream width' },
    nHeads: { type: 'integer', default: 4, min: 1, description: 'attention heads per layer' },
    nCtx: { type: 'integer', default: 65, min: 5, description: 'context length' },
    dVocab: { type: 'integer', default: 64, min: 3, description: 'vocabulary size' },
    batch: { type: 'integer', default: 32, min: 1, description: 'sequences per step' },
    lr: { type: 'number', default: 2e-2, min: 0, description: 'peak AdamW learning rate' },
  },
  async run(ctx, options) {
    if (options.dModel % options.nHeads !== 0) {
      throw new ValueError('d-model must be divisible by n-heads', {
        op: 'train-model',
        arg: '--d-model',
        expected: `a multiple of --n-heads (${options.nHeads})`,
        given: String(options.dModel),
      });
    }
    ctx.progress.start('train-model', options.steps, { unit: 'step' });
    let last = 0;
    const { report, result } = await ctx.runDir.time('train', () =>
      trainInduction({
        dModel: options.dModel,
        nHeads: options.nHeads,
        nCtx: options.nCtx,
        dVocab: options.dVocab,
        batch: options.batch,
        steps: options.steps,
        lr: options.lr,
        seed: ctx.runDir.info.seed,
        runDir: ctx.runDir.path,
        resume: ctx.resumed,
        signal: ctx.signal,
        onProgress: (p) => {
          ctx.progress.tick(p.step - last, { loss: p.loss, ...(p.eval ? { induction: p.eval.inductionScore ?? 0 } : {}) });
          last = p.step;
        },
      }),
    );
    ctx.progress.finish();
    const best = report.bestInductionHead;
    return {
      summary: [
        `trained ${result.step}/${options.steps} steps${result.resumedFrom !== null ? ` (resumed from step ${result.resumedFrom})` : ''}`,
        `best induction head: L${best.layer}H${best.head}, score ${best.score.toFixed(3)}`,
        `repeated random tokens: loss ${report.firstHalfLoss.toFixed(3)} on the first half, ${report.secondHalfLoss.toFixed(3)} on the second`,
      ],
    };
  },
});
