import { type Tensor, add, cast, div, exp, gt, matmul, mul, noGrad, relu, sum, zeros } from '@glassbox/tensor';
import type { SaeConfig } from './config.ts';
import { type SaeInitOptions, SparseAutoencoder, type StepContext, type StepOutput, countFiring, meanL0, squaredErrorPerRow } from './sparse-autoencoder.ts';

/**
 * Gated SAE (Rajamanoharan et al. 2024): a gate decides which latents fire and a magnitude path,
 * sharing W_enc up to a per-latent scale exp(r_mag), decides how much:
 *   π_gate = x̃ W_enc + b_gate,  π_mag = x̃ (W_enc ⊙ exp(r_mag)) + b_mag,  f = H(π_gate) · relu(π_mag).
 * The L1 acts on relu(π_gate) (weighted by decoder norms unless the decoder is unit-norm), and an
 * auxiliary loss reconstructs x from relu(π_gate) through a frozen copy of the decoder, which is
 * what trains the gate, since H passes no gradient.
 */
export class GatedSae extends SparseAutoencoder {
  readonly architecture = 'gated' as const;
  readonly b_gate: Tensor; // [d_sae]
  readonly r_mag: Tensor; // [d_sae]
  readonly b_mag: Tensor; // [d_sae]

  constructor(config: SaeConfig, options: SaeInitOptions = {}) {
    super(config, options);
    this.b_gate = this.param('b_gate', zeros([config.dSae]));
    this.r_mag = this.param('r_mag', zeros([config.dSae]));
    this.b_mag = this.param('b_mag', zeros([config.dSae]));
  }

  override latentBiases(): Tensor[] {
    return [this.b_gate, this.b_mag, this.r_mag];
  }

  /** The gate's pre-activations. */
  preActivations(x: Tensor): Tensor {
    return add(matmul(this.centered(x), this.W_enc), this.b_gate);
  }

  protected magnitude(x: Tensor): Tensor {
    return add(matmul(this.centered(x), mul(this.W_enc, exp(this.r_mag))), this.b_mag);
  }

  protected encodeRows(x: Tensor): Tensor {
    const gate = this.preActivations(x);
    const open = noGrad(() => cast(gt(gate, 0), 'float32'));
    return mul(open, relu(this.magnitude(x)));
  }

  trainStep(x: Tensor, ctx: StepContext): StepOutput {
    const batch = x.shape[0]!;
    const gate = this.preActivations(x);
    const open = noGrad(() => cast(gt(gate, 0), 'float32'));
    const latents = mul(open, relu(this.magnitude(x)));
    const recon = add(matmul(latents, this.W_dec), this.b_dec);
    const mse = squaredErrorPerRow(recon, x);
    const gateActs = relu(gate);
    const weighted = ctx.decoderNorm === 'unit' ? gateActs : mul(gateActs, this.decoderNorms());
    const l1 = div(sum(weighted), batch);
    const auxRecon = add(matmul(gateActs, this.W_dec.detach()), this.b_dec.detach());
    const aux = squaredErrorPerRow(auxRecon, x);
    const firing = countFiring(open.data() as Float32Array, batch, this.dSae);
    return { loss: add(add(mse, mul(l1, ctx.sparsityCoefficient)), aux), terms: { mse, l1, aux }, firing, l0: meanL0(firing, batch) };
  }
}
