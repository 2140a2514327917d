import { type Tensor, noGrad, tensor } from '@glassbox/tensor';
import { vectorKernels } from '../sparse/vector-kernels.ts';

/**
 * Removes from each decoder row's gradient its component along the row, so a step moves rows
 * along the unit sphere to first order: g_i ← g_i − (g_i · w_i) w_i / ‖w_i‖². W [d_sae, d].
 */
export function projectDecoderGradient(W: Tensor): void {
  if (!W.grad) return;
  const [rows, d] = [W.shape[0]!, W.shape[1]!];
  const k = vectorKernels();
  const [w, g] = [0, rows * d];
  k.reserve(2 * rows * d);
  k.f32.set(W.data(), w);
  k.f32.set(W.grad.data(), g);
  for (let r = 0; r < rows; r++) {
    const sq = k.dot(w + r * d, w + r * d, d);
    if (sq !== 0) k.axpy(g + r * d, w + r * d, -k.dot(g + r * d, w + r * d, d) / sq, d);
  }
  W.grad = tensor(k.f32.slice(g, g + rows * d), { shape: W.shape, backend: W.backend });
}

/** Rescales each row of W [d_sae, d] to unit norm, in place (zero rows stay zero). */
export function normalizeDecoderRows(W: Tensor): void {
  const [rows, d] = [W.shape[0]!, W.shape[1]!];
  const w = W.data() as Float32Array;
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    let sq = 0;
    for (let j = 0; j < d; j++) sq += w[base + j]! * w[base + j]!;
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let j = 0; j < d; j++) w[base + j] = w[base + j]! * inv;
  }
  noGrad(() => W.copyFrom(tensor(w, { shape: W.shape, backend: W.backend })));
}
