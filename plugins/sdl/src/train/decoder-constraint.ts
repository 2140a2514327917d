import { type Tensor, div, eq, mul, noGrad, sqrt, sub, sum, tidy, where } from '@glassbox/tensor';

/**
 * Removes from each decoder row's gradient its component along the row, so a step moves rows
 * along the unit sphere to first order: g_i ← g_i − (g_i · w_i) w_i / ‖w_i‖². W [d_sae, d].
 */
export function projectDecoderGradient(W: Tensor): void {
  const g = W.grad;
  if (!g) return;
  W.grad = noGrad(() => {
    const squaredNorms = sum(mul(W, W), 1, true);
    const along = div(sum(mul(g, W), 1, true), where(eq(squaredNorms, 0), 1, squaredNorms));
    return sub(g, mul(along, W));
  });
}

/** Rescales each row of W [d_sae, d] to unit norm, in place (zero rows stay zero). */
export function normalizeDecoderRows(W: Tensor): void {
  tidy(() =>
    noGrad(() => {
      const norms = sqrt(sum(mul(W, W), 1, true));
      W.copyFrom(div(W, where(eq(norms, 0), 1, norms)));
    }),
  );
}
