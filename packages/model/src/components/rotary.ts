import { type Tensor, add, concat, mul, narrow, neg, reshape, tensor } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';

/**
 * Rotary positional embeddings in the GPT-NeoX layout, as TransformerLens's default: the first
 * `rotaryDim` features of each head are split in two halves, feature i (< rotaryDim / 2) pairing with
 * feature i + rotaryDim / 2, and each pair is turned by the angle pos · base^(−2i / rotaryDim).
 * The remaining dHead − rotaryDim features pass through unchanged.
 */
export class Rotary {
  readonly rotaryDim: number;
  readonly #cos: Tensor; // [n_ctx, rotary_dim]
  readonly #sin: Tensor; // [n_ctx, rotary_dim]

  constructor(cfg: TransformerConfig) {
    const r = cfg.rotaryDim ?? cfg.dHead;
    const half = r / 2;
    this.rotaryDim = r;
    const cos = new Float32Array(cfg.nCtx * r);
    const sin = new Float32Array(cfg.nCtx * r);
    for (let p = 0; p < cfg.nCtx; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * cfg.rotaryBase ** (-(2 * i) / r);
        for (const j of [i, i + half]) {
          cos[p * r + j] = Math.cos(angle);
          sin[p * r + j] = Math.sin(angle);
        }
      }
    }
    this.#cos = tensor(cos, { shape: [cfg.nCtx, r] });
    this.#sin = tensor(sin, { shape: [cfg.nCtx, r] });
  }

  // [batch, pos, head_index, d_head] -> [batch, pos, head_index, d_head]
  apply(x: Tensor): Tensor {
    const [, pos, , dHead] = x.shape as [number, number, number, number];
    const r = this.rotaryDim;
    const half = r / 2;
    const table = (t: Tensor) => reshape(narrow(t, 0, 0, pos), [1, pos, 1, r]);
    const turning = narrow(x, -1, 0, r);
    const turned = concat([neg(narrow(turning, -1, half, half)), narrow(turning, -1, 0, half)], -1);
    const rotated = add(mul(turning, table(this.#cos)), mul(turned, table(this.#sin)));
    return r === dHead ? rotated : concat([rotated, narrow(x, -1, r, dHead - r)], -1);
  }
}
