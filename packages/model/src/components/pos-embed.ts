import { type Generator, Module, type Tensor, expand, narrow, unsqueeze } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';
import { normalInit } from './init.ts';

/**
 * Learned absolute positions, one row of W_pos per position. The model adds them to the residual
 * stream ('standard') or to every attention layer's query and key inputs ('shortformer').
 */
export class PosEmbed extends Module {
  readonly W_pos: Tensor; // [n_ctx, d_model]

  constructor(cfg: TransformerConfig, generator: Generator | null) {
    super();
    this.W_pos = this.param('W_pos', normalInit([cfg.nCtx, cfg.dModel], cfg.initRange, generator));
  }

  // positions 0 .. pos-1 for `batch` sequences -> [batch, pos, d_model]
  forward(batch: number, pos: number): Tensor {
    const rows = narrow(this.W_pos, 0, 0, pos); // [pos, d_model]
    return expand(unsqueeze(rows, 0), [batch, pos, this.W_pos.shape[1]!]);
  }
}
