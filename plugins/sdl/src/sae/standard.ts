import { type Tensor, add, div, matmul, mul, relu, sum, zeros } from '@glassbox/tensor';
import type { SaeConfig } from './config.ts';
import { type SaeInitOptions, SparseAutoencoder, type StepContext, type StepOutput, countFiring, meanL0, squaredErrorPerRow } from './sparse-autoencoder.ts';

/**
 * ReLU SAE trained with an L1 penalty. With decoderNorm 'penalty' (the default for this
 * architecture) each latent's L1 is weighted by its decoder norm, as in Anthropic's April 2024
 * update, so shrinking a latent cannot be traded against growing its decoder row.
 * encode: relu((x − b_dec·[apply_b_dec_to_input]) W_enc + b_enc).
 */
export class StandardSae extends SparseAutoencoder {
  readonly architecture = 'standard' as const;
  readonly b_enc: Tensor; // [d_sae]

  constructor(config: SaeConfig, options: SaeInitOptions = {}) {
    super(config, options);
    this.b_enc = this.param('b_enc', zeros([config.dSae]));
  }

  override latentBiases(): Tensor[] {
    return [this.b_enc];
  }

  preActivations(x: Tensor): Tensor {
    return add(matmul(this.centered(x), this.W_enc), this.b_enc);
  }

  protected encodeRows(x: Tensor): Tensor {
    return relu(this.preActivations(x));
  }

  trainStep(x: Tensor, ctx: StepContext): StepOutput {
    const batch = x.shape[0]!;
    const latents = relu(this.preActivations(x));
    const recon = add(matmul(latents, this.W_dec), this.b_dec);
    const mse = squaredErrorPerRow(recon, x);
    const weighted = ctx.decoderNorm === 'penalty' ? mul(latents, this.decoderNorms()) : latents;
    const l1 = div(sum(weighted), batch);
    const firing = countFiring(latents.data() as Float32Array, batch, this.dSae);
    return { loss: add(mse, mul(l1, ctx.sparsityCoefficient)), terms: { mse, l1 }, firing, l0: meanL0(firing, batch) };
  }
}
