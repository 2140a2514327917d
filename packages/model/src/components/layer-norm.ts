import { Module, type Tensor, add, div, layerNorm, mean, mul, ones, sqrt, sub, zeros } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';
import { HookPoint } from '../hook-point.ts';

/**
 * LayerNorm over d_model: centre, divide by scale = sqrt(mean(x²) + eps), then (unless `LNPre`)
 * multiply by w and add b. `hook_scale` sees the scale and `hook_normalized` the output, after w and b.
 * The fused kernel runs unless a hook watches the scale, which then needs its own tensor.
 */
export class LayerNorm extends Module {
  readonly eps: number;
  readonly w: Tensor | null; // [d_model]
  readonly b: Tensor | null; // [d_model]
  readonly hook_scale: HookPoint; // [batch, pos, 1]
  readonly hook_normalized: HookPoint; // [batch, pos, d_model]

  constructor(cfg: TransformerConfig, affine = true) {
    super();
    this.eps = cfg.eps;
    this.w = affine ? this.param('w', ones([cfg.dModel])) : null;
    this.b = affine ? this.param('b', zeros([cfg.dModel])) : null;
    this.hook_scale = this.module('hook_scale', new HookPoint());
    this.hook_normalized = this.module('hook_normalized', new HookPoint());
  }

  // [batch, pos, d_model] -> [batch, pos, d_model]
  forward(x: Tensor): Tensor {
    if (!this.hook_scale.isActive) return this.hook_normalized.forward(layerNorm(x, this.w ?? undefined, this.b ?? undefined, this.eps));
    const centered = sub(x, mean(x, -1, true));
    const scale = this.hook_scale.forward(sqrt(add(mean(mul(centered, centered), -1, true), this.eps)));
    const normalized = div(centered, scale);
    return this.hook_normalized.forward(this.w && this.b ? add(mul(normalized, this.w), this.b) : normalized);
  }
}
