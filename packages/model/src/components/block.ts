import { type Generator, Module, type Tensor, add } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';
import { HookPoint } from '../hook-point.ts';
import { Attention } from './attention.ts';
import { MLP } from './mlp.ts';
import { type Norm, makeNorm } from './norm.ts';

/**
 * One transformer block, pre-norm. Sequential: mid = pre + attn(ln1(pre)); post = mid + mlp(ln2(mid)).
 * Parallel (parallelAttnMlp): post = pre + attn(ln1(pre)) + mlp(ln2(pre)). Attention-only: post =
 * pre + attn(ln1(pre)).
 */
export class TransformerBlock extends Module {
  readonly cfg: TransformerConfig;
  readonly hook_resid_pre: HookPoint; // [batch, pos, d_model]
  readonly ln1: Norm | null;
  readonly attn: Attention;
  readonly hook_attn_out: HookPoint; // [batch, pos, d_model]
  readonly hook_resid_mid: HookPoint | null; // [batch, pos, d_model]
  readonly ln2: Norm | null;
  readonly mlp: MLP | null;
  readonly hook_mlp_out: HookPoint | null; // [batch, pos, d_model]
  readonly hook_resid_post: HookPoint; // [batch, pos, d_model]

  constructor(cfg: TransformerConfig, generator: Generator | null) {
    super();
    this.cfg = cfg;
    const hasMlp = !cfg.attnOnly;
    const norm = (name: string) => {
      const n = makeNorm(cfg);
      return n ? this.module(name, n) : null;
    };
    this.hook_resid_pre = this.module('hook_resid_pre', new HookPoint());
    this.ln1 = norm('ln1');
    this.attn = this.module('attn', new Attention(cfg, generator));
    this.hook_attn_out = this.module('hook_attn_out', new HookPoint());
    this.hook_resid_mid = hasMlp && !cfg.parallelAttnMlp ? this.module('hook_resid_mid', new HookPoint()) : null;
    this.ln2 = hasMlp ? norm('ln2') : null;
    this.mlp = hasMlp ? this.module('mlp', new MLP(cfg, generator)) : null;
    this.hook_mlp_out = hasMlp ? this.module('hook_mlp_out', new HookPoint()) : null;
    this.hook_resid_post = this.module('hook_resid_post', new HookPoint());
  }

  /** [batch, pos, d_model] -> [batch, pos, d_model]; `qkShift` is the shortformer position embedding. */
  forward(residPre: Tensor, qkShift?: Tensor): Tensor {
    const resid = this.hook_resid_pre.forward(residPre);
    const attnOut = this.hook_attn_out.forward(this.attn.forward(this.ln1 ? this.ln1.forward(resid) : resid, qkShift));
    if (!this.mlp) return this.hook_resid_post.forward(add(resid, attnOut));
    const mlpIn = (x: Tensor) => (this.ln2 ? this.ln2.forward(x) : x);
    if (this.cfg.parallelAttnMlp) {
      const mlpOut = this.hook_mlp_out!.forward(this.mlp.forward(mlpIn(resid)));
      return this.hook_resid_post.forward(add(add(resid, attnOut), mlpOut));
    }
    const mid = this.hook_resid_mid!.forward(add(resid, attnOut));
    const mlpOut = this.hook_mlp_out!.forward(this.mlp.forward(mlpIn(mid)));
    return this.hook_resid_post.forward(add(mid, mlpOut));
  }
}
