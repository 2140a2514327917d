import { type Tensor, add, matmul, mul, noGrad, relu, reshape, sub, tensor, tidy, zeros } from '@glassbox/tensor';
import type { SaeConfig } from './config.ts';
import { auxKLoss, auxKSelection, countDead } from './aux-k.ts';
import { latentCounts, type SelectedEntries, type SparseSelection, topKEntries } from '../sparse/selection.ts';
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
 * `select` picks the entries from the dense pre-activations, which it may read in place or copy
 * out; they are freed as soon as it (and AuxK's own selection) has run.
 *
 * The encoder runs as x W_enc + (b_enc − b_dec W_enc), which equals (x − b_dec) W_enc + b_enc:
 * b_dec's gradient then comes from a [d_sae] bias instead of a sparse pass over the batch.
 */
export function sparseTrainStep(
  sae: SparseAutoencoder & { b_enc: Tensor },
  x: Tensor,
  ctx: StepContext,
  select: (pre: Tensor) => SelectedEntries,
  extraLoss?: (values: Tensor, selection: SparseSelection) => { loss: Tensor; terms: Record<string, Tensor> } | null,
): StepOutput & { values: Tensor; selection: SparseSelection; recon: Tensor } {
  const batch = x.shape[0]!;
  const bias = sae.config.applyBDecToInput ? sub(sae.b_enc, reshape(matmul(reshape(sae.b_dec, [1, -1]), sae.W_enc), [-1])) : sae.b_enc; // [d_sae]
  const useAuxK = ctx.deadMask !== null && ctx.auxkCoefficient > 0;
  // tidy frees the [batch, d_sae] products at once rather than leaving them to crowd the backend's memory.
  const [picked, dead] = tidy(() => {
    const pre = noGrad(() => add(matmul(x, sae.W_enc), bias));
    return [select(pre), useAuxK ? auxKSelection(pre, ctx.deadMask!, ctx.kAux) : null] as const;
  });
  const { selection } = picked;
  const values = sparseAffine(x, sae.W_enc, bias, picked);
  const recon = add(sparseDecode(values, sae.W_dec, selection), sae.b_dec);
  const mse = squaredErrorPerRow(recon, x);
  const terms: Record<string, Tensor> = { mse };
  let loss = mse;
  const extra = extraLoss?.(values, selection);
  if (extra) {
    loss = add(loss, extra.loss);
    Object.assign(terms, extra.terms);
  }
  if (dead) {
    const auxk = auxKLoss({ xc: x, dead, deadCount: countDead(ctx.deadMask!), residual: sub(x, recon), W_enc: sae.W_enc, b_enc: bias, W_dec: sae.W_dec, kAux: ctx.kAux });
    terms.auxk = auxk;
    loss = add(loss, mul(auxk, ctx.auxkCoefficient));
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
    return mul(relu(pre), selectionMask(topKEntries(pre, this.k).selection));
  }

  trainStep(x: Tensor, ctx: StepContext): StepOutput {
    return sparseTrainStep(this, x, ctx, (pre) => topKEntries(pre, this.k));
  }
}
