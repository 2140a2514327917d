import { type Tensor, div, mean, mul, noGrad, sub, sum } from '@glassbox/tensor';
import { selectTopK } from '../sparse/selection.ts';
import { sparseAffine, sparseDecode } from '../sparse/sparse-ops.ts';

export interface AuxKInputs {
  /** Encoder input: pre = xc W_enc + b_enc. // [batch, d_in] */
  xc: Tensor;
  /** Dense encoder pre-activations, already computed. // [batch, d_sae] */
  pre: Float32Array;
  /** What the main reconstruction missed: x − x̂. // [batch, d_in] */
  residual: Tensor;
  W_enc: Tensor;
  /** The encoder bias that goes with xc (b_enc − b_dec W_enc for an uncentred x). // [d_sae] */
  b_enc: Tensor;
  W_dec: Tensor;
  /** Nonzero for dead latents. // [d_sae] */
  deadMask: Uint8Array;
  kAux: number;
}

/**
 * AuxK (Gao et al. 2024): the top-kAux dead latents reconstruct the main residual, and the loss
 * is that reconstruction's error normalised by the residual's variance, scaled by
 * min(1, dead / kAux). Gradients reach dead latents that the main loss never touches; the
 * selection and both products are sparse. Returns null when no latent is dead.
 */
export function auxKLoss(inputs: AuxKInputs): Tensor | null {
  const { xc, pre, residual, W_enc, b_enc, W_dec, deadMask, kAux } = inputs;
  const [batch, dSae] = [xc.shape[0]!, W_enc.shape[1]!];
  let dead = 0;
  for (const d of deadMask) if (d) dead++;
  if (dead === 0 || kAux <= 0) return null;
  const selection = selectTopK(pre, batch, dSae, Math.min(kAux, dead), deadMask);
  if (selection.cols.length === 0) return null;
  const values = sparseAffine(xc, W_enc, b_enc, selection, pre);
  const estimate = sparseDecode(values, W_dec, selection);
  const target = residual.detach();
  const diff = sub(estimate, target);
  const total = noGrad(() => {
    const centred = sub(target, mean(target, 0, true));
    return Math.max(sum(mul(centred, centred)).item(), 1e-12);
  });
  return mul(div(sum(mul(diff, diff)), total), Math.min(1, dead / kAux));
}
