import { ones, zeros } from '../creation.ts';
import { layerNorm } from '../ops/index.ts';
import type { Tensor } from '../tensor.ts';
import { Module, checkSize } from './module.ts';

export interface LayerNormOptions {
  /** Added to the variance; default 1e-5 as in PyTorch. */
  eps?: number;
  /** Learn a per-feature scale (and bias); default true. */
  elementwiseAffine?: boolean;
  /** Learn the bias too, when affine; default true. */
  bias?: boolean;
}

/** LayerNorm over the last axis, as torch.nn.LayerNorm: weight ones [d], bias zeros [d]. */
export class LayerNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  readonly weight: Tensor | null; // [d]
  readonly bias: Tensor | null; // [d]

  constructor(normalizedShape: number, options: LayerNormOptions = {}) {
    super();
    checkSize('LayerNorm', 'normalizedShape', normalizedShape);
    const { eps = 1e-5, elementwiseAffine = true, bias = true } = options;
    this.normalizedShape = normalizedShape;
    this.eps = eps;
    this.weight = elementwiseAffine ? this.param('weight', ones([normalizedShape])) : null;
    this.bias = elementwiseAffine && bias ? this.param('bias', zeros([normalizedShape])) : null;
  }

  // [..., d] -> [..., d]
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight ?? undefined, this.bias ?? undefined, this.eps);
  }
}
