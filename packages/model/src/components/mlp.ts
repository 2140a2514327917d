import { type Generator, Module, type Tensor, add, gelu, matmul, mul, relu, sigmoid, zeros } from '@glassbox/tensor';
import type { ActFn, TransformerConfig } from '../config.ts';
import { HookPoint } from '../hook-point.ts';
import { normalInit } from './init.ts';

/** The activation functions, by configuration name. */
export const ACTIVATIONS: Readonly<Record<ActFn, (x: Tensor) => Tensor>> = {
  gelu: (x) => gelu(x),
  gelu_new: (x) => gelu(x, 'tanh'),
  relu: (x) => relu(x),
  silu: (x) => mul(x, sigmoid(x)),
};

/** post = act(x W_in + b_in); out = post W_out + b_out. */
export class MLP extends Module {
  readonly W_in: Tensor; // [d_model, d_mlp]
  readonly b_in: Tensor; // [d_mlp]
  readonly W_out: Tensor; // [d_mlp, d_model]
  readonly b_out: Tensor; // [d_model]
  readonly hook_pre: HookPoint; // [batch, pos, d_mlp]
  readonly hook_post: HookPoint; // [batch, pos, d_mlp]
  readonly #act: (x: Tensor) => Tensor;

  constructor(cfg: TransformerConfig, generator: Generator | null) {
    super();
    const dMlp = cfg.dMlp ?? 4 * cfg.dModel;
    this.W_in = this.param('W_in', normalInit([cfg.dModel, dMlp], cfg.initRange, generator));
    this.b_in = this.param('b_in', zeros([dMlp]));
    this.W_out = this.param('W_out', normalInit([dMlp, cfg.dModel], cfg.initRange, generator));
    this.b_out = this.param('b_out', zeros([cfg.dModel]));
    this.hook_pre = this.module('hook_pre', new HookPoint());
    this.hook_post = this.module('hook_post', new HookPoint());
    this.#act = ACTIVATIONS[cfg.actFn ?? 'gelu'];
  }

  // [batch, pos, d_model] -> [batch, pos, d_model]
  forward(x: Tensor): Tensor {
    const pre = this.hook_pre.forward(add(matmul(x, this.W_in), this.b_in));
    const post = this.hook_post.forward(this.#act(pre));
    return add(matmul(post, this.W_out), this.b_out);
  }
}
