import { type Tensor, add, matmul, mul, noGrad, relu, reshape, sub, tensor, tidy, zeros } from '@glassbox/tensor';
import type { SaeConfig } from './config.ts';
import { auxKLoss } from './aux-k.ts';
import { latentCounts, type SparseSelection, selectTopK } from '../sparse/selection.ts';
import { sparseAffine, sparseDecode } from '../sparse/sparse-ops.ts';
import { type SaeInitOptions, SparseAutoencoder, type StepContext, type StepOutput, meanL0, squaredErrorPerRow } from './sparse-autoencoder.ts';

/** A dense 0/1 float mask of a selection. // [batch, width] */
export function selectionMask(selection: SparseSelection): Tensor {
  const mask = new Float32Array(selection.batch * selection.width);
  for (let r = 0; r < selection.batch; r++) {
    for (let e = selection.rowPtr[r]!; e < selection.rowPtr[r + 1]!; e++) mask[r * selection.width + selection.cols[e]!] = 1;
  }
  return tensor(mask, { shape: [selection.batch, selection.width] });
}

/**
 * The TopK family's training step: dense pre-activations off the tape (the only O(d_sae) product),
 * a selection, then sparse encoder values and a sparse decoder product on the tape, so the
 * backward pass costs O(nnz · d_in). Adds AuxK over dead latents when the trainer tracks them.
 *
 * The encoder runs as x W_enc + (b_enc − b_dec W_enc), which equals (x − b_dec) W_enc + b_enc:
 * b_dec's gradient then comes from a [d_sae] bias instead of a sparse pass over the batch.
 */
export function sparseTrainStep(
  sae: SparseAutoencoder & { b_enc: Tensor },
  x: Tensor,
  ctx: StepContext,
  select: (pre: Float32Array, batch: number) => SparseSelection,
  extraLoss?: (values: Tensor, selection: SparseSelection) => { loss: Tensor; terms: Record<string, Tensor> } | null,
): StepOutput & { values: Tensor; selection: SparseSelection; recon: Tensor } {
  const batch = x.shape[0]!;
  const bias = sae.config.applyBDecToInput ? sub(sae.b_enc, reshape(matmul(reshape(sae.b_dec, [1, -1]), sae.W_enc), [-1])) : sae.b_enc; // [d_sae]
  // tidy frees the [batch, d_sae] products at once rather than leaving them to crowd the backend's memory.
  const pre = tidy(() => noGrad(() => add(matmul(x, sae.W_enc), bias)).data() as Float32Array);
  const selection = select(pre, batch);
  const values = sparseAffine(x, sae.W_enc, bias, selection, pre);
  const recon = add(sparseDecode(values, sae.W_dec, selection), sae.b_dec);
  const mse = squaredErrorPerRow(recon, x);
  const terms: Record<string, Tensor> = { mse };
  let loss = mse;
  const extra = extraLoss?.(values, selection);
  if (extra) {
    loss = add(loss, extra.loss);
    Object.assign(terms, extra.terms);
  }
  if (ctx.deadMask && ctx.auxkCoefficient > 0) {
    const auxk = auxKLoss({ xc: x, pre, residual: sub(x, recon), W_enc: sae.W_enc, b_enc: bias, W_dec: sae.W_dec, deadMask: ctx.deadMask, kAux: ctx.kAux });
    if (auxk) {
      terms.auxk = auxk;
      loss = add(loss, mul(auxk, ctx.auxkCoefficient));
    }
  }
  const firing = latentCounts(selection);
  return { loss, terms, firing, l0: meanL0(firing, batch), values, selection, recon };
}

/**
 * TopK SAE (Gao et al. 2024): each token keeps its k largest pre-activations, ReLU'd.
 * encode: relu(topk((x − b_dec) W_enc + b_enc)).
 */
export class TopKSae extends SparseAutoencoder {
  readonly architecture = 'topk' as const;
  readonly b_enc: Tensor; // [d_sae]

  constructor(config: SaeConfig, options: SaeInitOptions = {}) {
    super(config, { decoderInitNorm: 1, ...options });
    this.b_enc = this.param('b_enc', zeros([config.dSae]));
  }

  get k(): number {
    return this.config.k!;
  }

  override latentBiases(): Tensor[] {
    return [this.b_enc];
  }

  preActivations(x: Tensor): Tensor {
    return add(matmul(this.centered(x), this.W_enc), this.b_enc);
  }

  protected encodeRows(x: Tensor): Tensor {
    const pre = this.preActivations(x);
    const selection = selectTopK(pre.data() as Float32Array, x.shape[0]!, this.dSae, this.k);
    return mul(relu(pre), selectionMask(selection));
  }

  trainStep(x: Tensor, ctx: StepContext): StepOutput {
    return sparseTrainStep(this, x, ctx, (pre, batch) => selectTopK(pre, batch, this.dSae, this.k));
  }
}
