import { Module, type Tensor, add, div, mean, mul, ones, rmsNorm, sqrt } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';
import { HookPoint } from '../hook-point.ts';

/**
 * RMSNorm over d_model: divide by scale = sqrt(mean(x²) + eps), then (unless `RMSPre`) multiply by w.
 * As in TransformerLens, `hook_normalized` sees the value before the weight is applied.
 */
export class RMSNorm extends Module {
  readonly eps: number;
  readonly w: Tensor | null; // [d_model]
  readonly hook_scale: HookPoint; // [batch, pos, 1]
  readonly hook_normalized: HookPoint; // [batch, pos, d_model]

  constructor(cfg: TransformerConfig, affine = true) {
    super();
    this.eps = cfg.eps;
    this.w = affine ? this.param('w', ones([cfg.dModel])) : null;
    this.hook_scale = this.module('hook_scale', new HookPoint());
    this.hook_normalized = this.module('hook_normalized', new HookPoint());
  }

  // [batch, pos, d_model] -> [batch, pos, d_model]
  forward(x: Tensor): Tensor {
    let normalized: Tensor;
    if (this.hook_scale.isActive) {
      const scale = this.hook_scale.forward(sqrt(add(mean(mul(x, x), -1, true), this.eps)));
      normalized = div(x, scale);
    } else {
      normalized = rmsNorm(x, undefined, this.eps);
    }
    normalized = this.hook_normalized.forward(normalized);
    return this.w ? mul(normalized, this.w) : normalized;
  }
}
