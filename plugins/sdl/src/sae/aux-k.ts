import { type Tensor, div, mean, mul, noGrad, sub, sum } from '@glassbox/tensor';
import { type SelectedEntries, topKEntries } from '../sparse/selection.ts';
import { sparseAffine, sparseDecode } from '../sparse/sparse-ops.ts';

export interface AuxKInputs {
  /** Encoder input: pre = xc W_enc + b_enc. // [batch, d_in] */
  xc: Tensor;
  /** The dead latents that take part, with their pre-activations: auxKSelection's result. */
  dead: SelectedEntries;
  /** How many latents are dead. */
  deadCount: number;
  /** What the main reconstruction missed: x − x̂. // [batch, d_in] */
  residual: Tensor;
  W_enc: Tensor;
  /** The encoder bias that goes with xc (b_enc − b_dec W_enc for an uncentred x). // [d_sae] */
  b_enc: Tensor;
  W_dec: Tensor;
  kAux: number;
}

/** How many latents a mask marks dead (nonzero). */
export function countDead(deadMask: Uint8Array): number {
  let dead = 0;
  for (const d of deadMask) if (d) dead++;
  return dead;
}

/**
 * Per row, the top-kAux dead latents of the dense pre-activations [batch, d_sae], with their
 * values; null when none is dead or none is positive.
 */
export function auxKSelection(pre: Tensor, deadMask: Uint8Array, kAux: number): SelectedEntries | null {
  const dead = countDead(deadMask);
  if (dead === 0 || kAux <= 0) return null;
  const picked = topKEntries(pre, Math.min(kAux, dead), deadMask);
  return picked.values.length > 0 ? picked : null;
}

/**
 * AuxK (Gao et al. 2024): the top-kAux dead latents reconstruct the main residual, and the loss
 * is that reconstruction's error normalised by the residual's variance, scaled by
 * min(1, dead / kAux). Gradients reach dead latents that the main loss never touches; the
 * selection and both products are sparse.
 */
export function auxKLoss(inputs: AuxKInputs): Tensor {
  const { xc, dead, deadCount, residual, W_enc, b_enc, W_dec, kAux } = inputs;
  const values = sparseAffine(xc, W_enc, b_enc, dead);
  const estimate = sparseDecode(values, W_dec, dead.selection);
  const target = residual.detach();
  const diff = sub(estimate, target);
  const total = noGrad(() => {
    const centred = sub(target, mean(target, 0, true));
    return Math.max(sum(mul(centred, centred)).item(), 1e-12);
  });
  return mul(div(sum(mul(diff, diff)), total), Math.min(1, deadCount / kAux));
}
