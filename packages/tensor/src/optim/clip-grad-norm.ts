import { noGrad } from '../autograd/graph.ts';
import { ValueError } from '../errors.ts';
import { mul } from '../ops/index.ts';
import type { Tensor } from '../tensor.ts';

const f32 = Math.fround;

export interface ClipGradNormOptions {
  /** The p of the p-norm; default 2. Infinity takes the largest absolute value. */
  normType?: number;
  /** Throw when the total norm is NaN or infinite, instead of scaling by it; default false. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` together so that their joint norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_: every gradient is multiplied by min(1, maxNorm / (total + 1e-6)).
 * Returns the total norm before clipping (0 when no parameter has a gradient). The gradients are
 * replaced by scaled tensors, so a gradient tensor shared with anything else is left intact.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, options: ClipGradNormOptions = {}): number {
  const { normType = 2, errorIfNonfinite = false } = options;
  if (!(normType > 0)) {
    throw new ValueError('invalid norm type', { op: 'clipGradNorm', arg: 'normType', expected: 'a positive number or Infinity', given: String(normType) });
  }
  const withGrad = [...params].filter((p) => p.grad !== null);
  if (withGrad.length === 0) return 0;
  // Each gradient's norm is rounded to float32, then the norm of those norms, as PyTorch does.
  const norms = withGrad.map((p) => f32(pNorm(p.grad!.data(), normType)));
  const total = f32(pNorm(norms, normType));
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new ValueError('the total gradient norm is not finite', { op: 'clipGradNorm', arg: 'params', expected: 'finite gradients', given: `total norm ${total}` });
  }
  const coef = Math.min(1, f32(f32(maxNorm) / f32(total + f32(1e-6))));
  noGrad(() => {
    for (const p of withGrad) p.grad = mul(p.grad!, coef);
  });
  return total;
}

function pNorm(values: ArrayLike<number>, p: number): number {
  let acc = 0;
  if (p === Number.POSITIVE_INFINITY) {
    for (let i = 0; i < values.length; i++) acc = Math.max(acc, Math.abs(values[i]!));
    return acc;
  }
  for (let i = 0; i < values.length; i++) acc += Math.abs(values[i]!) ** p;
  return p === 2 ? Math.sqrt(acc) : acc ** (1 / p);
}
