import { type Generator, Module, type Tensor, add, matmul, zeros } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';
import { normalInit } from './init.ts';

/** Logits from the final residual stream: x W_U + b_U. */
export class Unembed extends Module {
  readonly W_U: Tensor; // [d_model, d_vocab_out]
  readonly b_U: Tensor; // [d_vocab_out]

  constructor(cfg: TransformerConfig, generator: Generator | null) {
    super();
    this.W_U = this.param('W_U', normalInit([cfg.dModel, cfg.dVocabOut], cfg.initRange, generator));
    this.b_U = this.param('b_U', zeros([cfg.dVocabOut]));
  }

  // [batch, pos, d_model] -> [batch, pos, d_vocab_out]
  forward(x: Tensor): Tensor {
    return add(matmul(x, this.W_U), this.b_U);
  }
}
