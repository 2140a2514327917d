import { type Tensor, add, cast, div, exp, full, gt, log, matmul, mul, noGrad, relu, sub, sum, tanh, tensor, zeros } from '@glassbox/tensor';
import type { SaeConfig } from './config.ts';
import { type SaeInitOptions, SparseAutoencoder, type StepContext, type StepOutput, countFiring, meanL0, squaredErrorPerRow } from './sparse-autoencoder.ts';

/**
 * A term whose value is exactly zero and whose gradient with respect to `theta` is `coefficient`
 * (summed over broadcast axes): t − detach(t) with t = theta · coefficient. Adding it to a
 * forward value gives that value a chosen pseudo-derivative without changing it.
 */
export function straightThrough(theta: Tensor, coefficient: Tensor): Tensor {
  const t = mul(theta, coefficient);
  return sub(t, t.detach());
}

/**
 * The rectangle kernel of the JumpReLU STE, K((pre − θ)/ε)/ε: 1/ε where |pre − θ| < ε/2, else 0.
 * pre [batch, d_sae], theta [d_sae]; off the tape. // -> [batch, d_sae]
 */
export function rectangleKernel(pre: Float32Array, theta: Float32Array, batch: number, bandwidth: number): Float32Array {
  const width = theta.length;
  const out = new Float32Array(batch * width);
  const half = bandwidth / 2;
  for (let r = 0; r < batch; r++) {
    const base = r * width;
    for (let j = 0; j < width; j++) if (Math.abs(pre[base + j]! - theta[j]!) < half) out[base + j] = 1 / bandwidth;
  }
  return out;
}

/**
 * JumpReLU SAE (Rajamanoharan et al. 2024): z = pre · H(pre − θ) with a learned per-latent
 * threshold θ = exp(log_threshold). The step function has no useful gradient, so training uses
 * straight-through estimators with a rectangle kernel of width ε (the bandwidth):
 *   ∂z/∂pre = H(pre − θ),  ∂z/∂θ = −(θ/ε)·K((pre − θ)/ε),  ∂H/∂θ = −(1/ε)·K((pre − θ)/ε).
 * Both pseudo-derivatives are exact here: they are built by composing ops (see straightThrough),
 * not approximated. Sparsity is the L0 (step) or Σ tanh(c · z · ‖W_dec‖) (tanh), with an
 * optional pre-activation loss Σ relu(θ − pre)·‖W_dec‖ (Anthropic, 2025).
 */
export class JumpReluSae extends SparseAutoencoder {
  readonly architecture = 'jumprelu' as const;
  readonly b_enc: Tensor; // [d_sae]
  readonly log_threshold: Tensor; // [d_sae]

  constructor(config: SaeConfig, options: SaeInitOptions & { initialThreshold?: number } = {}) {
    super(config, options);
    this.b_enc = this.param('b_enc', zeros([config.dSae]));
    this.log_threshold = this.param('log_threshold', full([config.dSae], Math.log(options.initialThreshold ?? 0.001)));
  }

  /** θ per latent. // [d_sae] */
  threshold(): Tensor {
    return exp(this.log_threshold);
  }

  override latentBiases(): Tensor[] {
    return [this.b_enc];
  }

  preActivations(x: Tensor): Tensor {
    return add(matmul(this.centered(x), this.W_enc), this.b_enc);
  }

  protected encodeRows(x: Tensor): Tensor {
    const pre = this.preActivations(x);
    const mask = noGrad(() => cast(gt(pre, this.threshold()), 'float32'));
    return mul(relu(pre), mask);
  }

  trainStep(x: Tensor, ctx: StepContext): StepOutput {
    const batch = x.shape[0]!;
    const pre = this.preActivations(x);
    const theta = this.threshold();
    const preData = pre.data() as Float32Array;
    const thetaData = theta.data() as Float32Array;
    const kernel = tensor(rectangleKernel(preData, thetaData, batch, ctx.jumpReluBandwidth), { shape: [batch, this.dSae] });
    const active = noGrad(() => cast(gt(pre, theta), 'float32'));
    // z = pre·H(pre − θ), with ∂z/∂θ = −θ·K/ε through the straight-through term.
    const thetaCoefficient = noGrad(() => mul(mul(kernel, theta), -1));
    const latents = add(mul(pre, active), straightThrough(theta, thetaCoefficient));
    const recon = add(matmul(latents, this.W_dec), this.b_dec);
    const mse = squaredErrorPerRow(recon, x);
    const terms: Record<string, Tensor> = { mse };
    let sparsity: Tensor;
    if (ctx.jumpReluSparsity === 'tanh') {
      sparsity = div(sum(tanh(mul(mul(latents, this.decoderNorms()), ctx.jumpReluTanhScale))), batch);
    } else {
      // L0 = Σ H(pre − θ), with ∂/∂θ = −K/ε.
      sparsity = div(add(sum(active), sum(straightThrough(theta, mul(kernel, -1)))), batch);
    }
    terms.sparsity = sparsity;
    let loss = add(mse, mul(sparsity, ctx.sparsityCoefficient));
    if (ctx.preActCoefficient > 0) {
      const preAct = div(sum(mul(relu(sub(theta, pre)), this.decoderNorms())), batch);
      terms.preAct = preAct;
      loss = add(loss, mul(preAct, ctx.preActCoefficient));
    }
    const firing = countFiring(active.data() as Float32Array, batch, this.dSae);
    return { loss, terms, firing, l0: meanL0(firing, batch) };
  }

  override exportTensors(): Record<string, Tensor> {
    const { log_threshold: _, ...rest } = this.stateDict();
    return { ...rest, threshold: noGrad(() => this.threshold()) };
  }

  override importTensors(tensors: Record<string, Tensor>): void {
    const { threshold, ...rest } = tensors;
    const logThreshold = threshold ? noGrad(() => log(tensor(Float32Array.from(threshold.data(), (t) => Math.max(t, 1e-30)), { shape: threshold.shape }))) : undefined;
    this.loadStateDict(logThreshold ? { ...rest, log_threshold: logThreshold } : rest);
  }
}
