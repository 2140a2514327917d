import { type Generator, Module, type Tensor, embedding } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';
import { normalInit } from './init.ts';

/** Token embedding: the row of W_E for each token. */
export class Embed extends Module {
  readonly W_E: Tensor; // [d_vocab, d_model]

  constructor(cfg: TransformerConfig, generator: Generator | null) {
    super();
    this.W_E = this.param('W_E', normalInit([cfg.dVocab, cfg.dModel], cfg.initRange, generator));
  }

  // int32 tokens [batch, pos] -> [batch, pos, d_model]
  forward(tokens: Tensor): Tensor {
    return embedding(this.W_E, tokens);
  }
}
