import { type Generator, Module, type Tensor, add, arange, einsum, gt, keep, mul, softmax, sum, unsqueeze, where, zeros } from '@glassbox/tensor';
import type { TransformerConfig } from '../config.ts';
import { HookPoint } from '../hook-point.ts';
import { normalInit } from './init.ts';
import { Rotary } from './rotary.ts';

/**
 * Causal multi-head self-attention with TransformerLens's weight layout and hook points.
 *
 * q, k, v = x W_{Q,K,V} + b_{Q,K,V} per head (with rotary embeddings, q and k are then turned and
 * seen again as hook_rot_q / hook_rot_k); scores = q·k / attnScale with future keys set to −∞;
 * pattern = softmax over keys; z = pattern · v; out = Σ_heads z W_O + b_O. Biases are absent when
 * `attnBias` is false.
 */
export class Attention extends Module {
  readonly cfg: TransformerConfig;
  readonly W_Q: Tensor; // [n_heads, d_model, d_head]
  readonly W_K: Tensor; // [n_heads, d_model, d_head]
  readonly W_V: Tensor; // [n_heads, d_model, d_head]
  readonly W_O: Tensor; // [n_heads, d_head, d_model]
  readonly b_Q: Tensor | null; // [n_heads, d_head]
  readonly b_K: Tensor | null; // [n_heads, d_head]
  readonly b_V: Tensor | null; // [n_heads, d_head]
  readonly b_O: Tensor | null; // [d_model]
  readonly hook_q: HookPoint; // [batch, pos, head_index, d_head]
  readonly hook_k: HookPoint; // [batch, pos, head_index, d_head]
  readonly hook_v: HookPoint; // [batch, pos, head_index, d_head]
  readonly hook_rot_q: HookPoint | null; // [batch, pos, head_index, d_head]
  readonly hook_rot_k: HookPoint | null; // [batch, pos, head_index, d_head]
  readonly hook_attn_scores: HookPoint; // [batch, head_index, query_pos, key_pos]
  readonly hook_pattern: HookPoint; // [batch, head_index, query_pos, key_pos]
  readonly hook_z: HookPoint; // [batch, pos, head_index, d_head]
  readonly hook_result: HookPoint; // [batch, pos, head_index, d_model]
  readonly #rotary: Rotary | null;
  readonly #masks = new Map<number, Tensor>();

  constructor(cfg: TransformerConfig, generator: Generator | null) {
    super();
    this.cfg = cfg;
    const { nHeads: h, dModel: d, dHead: dh, initRange } = cfg;
    this.W_Q = this.param('W_Q', normalInit([h, d, dh], initRange, generator));
    this.W_K = this.param('W_K', normalInit([h, d, dh], initRange, generator));
    this.W_V = this.param('W_V', normalInit([h, d, dh], initRange, generator));
    this.W_O = this.param('W_O', normalInit([h, dh, d], initRange, generator));
    this.b_Q = cfg.attnBias ? this.param('b_Q', zeros([h, dh])) : null;
    this.b_K = cfg.attnBias ? this.param('b_K', zeros([h, dh])) : null;
    this.b_V = cfg.attnBias ? this.param('b_V', zeros([h, dh])) : null;
    this.b_O = cfg.attnBias ? this.param('b_O', zeros([d])) : null;
    this.hook_q = this.module('hook_q', new HookPoint());
    this.hook_k = this.module('hook_k', new HookPoint());
    this.hook_v = this.module('hook_v', new HookPoint());
    const rotary = cfg.positionalEmbeddingType === 'rotary';
    this.hook_rot_q = rotary ? this.module('hook_rot_q', new HookPoint()) : null;
    this.hook_rot_k = rotary ? this.module('hook_rot_k', new HookPoint()) : null;
    this.hook_attn_scores = this.module('hook_attn_scores', new HookPoint());
    this.hook_pattern = this.module('hook_pattern', new HookPoint());
    this.hook_z = this.module('hook_z', new HookPoint());
    this.hook_result = this.module('hook_result', new HookPoint());
    this.#rotary = rotary ? new Rotary(cfg) : null;
  }

  /**
   * `x` is the normalised block input [batch, pos, d_model]; `qkShift` (shortformer positions,
   * [batch, pos, d_model]) is added to the query and key inputs only. Returns [batch, pos, d_model].
   */
  forward(x: Tensor, qkShift?: Tensor): Tensor {
    const qkIn = qkShift ? add(x, qkShift) : x;
    const project = (input: Tensor, w: Tensor, b: Tensor | null) => {
      const out = einsum('bpm,hmd->bphd', input, w);
      return b ? add(out, b) : out;
    };
    let q = this.hook_q.forward(project(qkIn, this.W_Q, this.b_Q));
    let k = this.hook_k.forward(project(qkIn, this.W_K, this.b_K));
    const v = this.hook_v.forward(project(x, this.W_V, this.b_V));
    if (this.#rotary) {
      q = this.hook_rot_q!.forward(this.#rotary.apply(q));
      k = this.hook_rot_k!.forward(this.#rotary.apply(k));
    }
    // Scaling q rather than the scores, and adding −∞ rather than selecting, keeps the passes over
    // the [batch, head, query, key] scores to a minimum; the values are the same.
    const scaledQ = this.cfg.attnScale === 1 ? q : mul(q, 1 / this.cfg.attnScale);
    const scores = this.hook_attn_scores.forward(add(einsum('bqhd,bkhd->bhqk', scaledQ, k), this.#futureMask(x.shape[1]!)));
    const pattern = this.hook_pattern.forward(softmax(scores, -1));
    const z = this.hook_z.forward(einsum('bhqk,bkhd->bqhd', pattern, v));
    let out: Tensor;
    if (this.hook_result.isActive) {
      out = sum(this.hook_result.forward(einsum('bqhd,hdm->bqhm', z, this.W_O)), 2);
    } else {
      out = einsum('bqhd,hdm->bqm', z, this.W_O);
    }
    return this.b_O ? add(out, this.b_O) : out;
  }

  /** [pos, pos]: −∞ where the key comes after the query, else 0. */
  #futureMask(pos: number): Tensor {
    let mask = this.#masks.get(pos);
    if (!mask) {
      const index = arange(pos, { backend: this.W_Q.backend });
      // Kept: the cache outlives the tidy() that the first forward pass may run in.
      mask = keep(where(gt(unsqueeze(index, 0), unsqueeze(index, 1)), Number.NEGATIVE_INFINITY, 0));
      this.#masks.set(pos, mask);
    }
    return mask;
  }
}
