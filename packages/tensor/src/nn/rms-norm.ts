import { ones } from '../creation.ts';
import { rmsNorm } from '../ops/index.ts';
import type { Tensor } from '../tensor.ts';
import { Module, checkSize } from './module.ts';

export interface RMSNormOptions {
  /** Added to the mean square; default 1e-5. */
  eps?: number;
  /** Learn a per-feature scale; default true. */
  elementwiseAffine?: boolean;
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight, weight ones [d]. */
export class RMSNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  readonly weight: Tensor | null; // [d]

  constructor(normalizedShape: number, options: RMSNormOptions = {}) {
    super();
    checkSize('RMSNorm', 'normalizedShape', normalizedShape);
    const { eps = 1e-5, elementwiseAffine = true } = options;
    this.normalizedShape = normalizedShape;
    this.eps = eps;
    this.weight = elementwiseAffine ? this.param('weight', ones([normalizedShape])) : null;
  }

  // [..., d] -> [..., d]
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight ?? undefined, this.eps);
  }
}
