import { type Tensor, add, indexSelect, tensor } from '@glassbox/tensor';
import type { SaeConfig } from './config.ts';
import { restrictToLatents } from '../sparse/selection.ts';
import { sparseDecode } from '../sparse/sparse-ops.ts';
import { BatchTopKSae } from './batch-topk.ts';
import type { SaeInitOptions, StepContext, StepOutput } from './sparse-autoencoder.ts';
import { squaredErrorPerRow } from './sparse-autoencoder.ts';
import { sparseTrainStep } from './topk.ts';

/**
 * Matryoshka BatchTopK SAE (Bussmann et al. 2025): BatchTopK, plus a reconstruction loss for
 * every prefix of the dictionary given by matryoshkaWidths, so early latents must reconstruct on
 * their own and come to hold general features while later ones refine. The prefix
 * reconstructions are built group by group from the shared sparse values, so the extra cost is
 * one [batch, d_in] error per group. Inference is BatchTopK's thresholded JumpReLU.
 */
export class MatryoshkaBatchTopKSae extends BatchTopKSae {
  override readonly architecture = 'matryoshka_batchtopk' as const;

  constructor(config: SaeConfig, options: SaeInitOptions = {}) {
    super(config, options);
  }

  get widths(): number[] {
    return this.config.matryoshkaWidths!;
  }

  override trainStep(x: Tensor, ctx: StepContext): StepOutput {
    const out = sparseTrainStep(this, x, ctx, (pre) => this.select(pre), (values, selection) => {
      // The last group's prefix is the whole dictionary, whose loss the shared step already adds.
      const terms: Record<string, Tensor> = {};
      let recon: Tensor = this.b_dec;
      let loss: Tensor | null = null;
      let start = 0;
      this.widths.slice(0, -1).forEach((end, g) => {
        const { selection: group, positions } = restrictToLatents(selection, start, end);
        start = end;
        const groupValues = indexSelect(values, 0, tensor(positions, { shape: [positions.length] }));
        recon = add(recon, sparseDecode(groupValues, this.W_dec, group));
        const mse = squaredErrorPerRow(recon, x);
        terms[`mse_prefix_${g}`] = mse;
        loss = loss ? add(loss, mse) : mse;
      });
      return loss ? { loss, terms } : null;
    });
    this.updateThreshold(out.values, ctx.thresholdLr);
    return out;
  }
}
