import { type Tensor, add, cast, gt, matmul, mul, noGrad, relu, tensor, zeros } from '@glassbox/tensor';
import type { SaeConfig } from './config.ts';
import { gatherSelected, type SelectedEntries, selectBatchTopK } from '../sparse/selection.ts';
import { type SaeInitOptions, SparseAutoencoder, type StepContext, type StepOutput } from './sparse-autoencoder.ts';
import { sparseTrainStep } from './topk.ts';

/**
 * BatchTopK SAE (Bussmann et al. 2024): in training the batch as a whole keeps its batch·k largest
 * pre-activations, so tokens share a budget of k on average. A running estimate of the smallest
 * kept activation becomes the inference threshold, making inference a per-token JumpReLU:
 * relu(pre) · [pre > threshold]. It exports to SAELens as jumprelu with that threshold.
 */
export class BatchTopKSae extends SparseAutoencoder {
  readonly architecture: 'batchtopk' | 'matryoshka_batchtopk' = 'batchtopk';
  readonly b_enc: Tensor; // [d_sae]
  /** The inference threshold, learned as a running average during training. // [] */
  readonly topk_threshold: Tensor;

  constructor(config: SaeConfig, options: SaeInitOptions = {}) {
    super(config, { decoderInitNorm: 1, ...options });
    this.b_enc = this.param('b_enc', zeros([config.dSae]));
    this.topk_threshold = this.buffer('topk_threshold', zeros([]));
  }

  get k(): number {
    return this.config.k!;
  }

  get threshold(): number {
    return this.topk_threshold.item();
  }

  override latentBiases(): Tensor[] {
    return [this.b_enc];
  }

  preActivations(x: Tensor): Tensor {
    return add(matmul(this.centered(x), this.W_enc), this.b_enc);
  }

  protected encodeRows(x: Tensor): Tensor {
    const pre = this.preActivations(x);
    return mul(relu(pre), noGrad(() => cast(gt(pre, this.threshold), 'float32')));
  }

  /** The batch's top batch·k entries; BatchTopK ranks across rows, so the dense pre-activations are read out. */
  protected select(pre: Tensor): SelectedEntries {
    const dense = pre.data() as Float32Array;
    const batch = pre.shape[0]!;
    const selection = selectBatchTopK(dense, batch, this.dSae, Math.round(this.k * batch));
    return { selection, values: gatherSelected(dense, selection) };
  }

  /** threshold ← (1 − lr)·threshold + lr·(smallest kept activation). */
  protected updateThreshold(values: Tensor, lr: number): void {
    const v = values.data();
    if (v.length === 0 || lr <= 0) return;
    let smallest = Number.POSITIVE_INFINITY;
    for (const a of v) if (a < smallest) smallest = a;
    const next = (1 - lr) * this.threshold + lr * smallest;
    noGrad(() => this.topk_threshold.copyFrom(tensor([next]).reshape([])));
  }

  trainStep(x: Tensor, ctx: StepContext): StepOutput {
    const out = sparseTrainStep(this, x, ctx, (pre) => this.select(pre));
    this.updateThreshold(out.values, ctx.thresholdLr);
    return out;
  }

  override exportTensors(): Record<string, Tensor> {
    const { topk_threshold: _, ...rest } = this.stateDict();
    return { ...rest, threshold: tensor(new Float32Array(this.dSae).fill(this.threshold)) };
  }

  override importTensors(tensors: Record<string, Tensor>): void {
    const { threshold, ...rest } = tensors;
    const value = threshold ? threshold.data()[0]! : 0;
    this.loadStateDict({ ...rest, topk_threshold: tensor([value]).reshape([]) });
  }

  override exportArchitecture(): string {
    return 'jumprelu';
  }
}
