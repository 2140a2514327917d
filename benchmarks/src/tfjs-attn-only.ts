/**
 * A handwritten TensorFlow.js attention-only transformer with the architecture of Glassbox's
 * HookedTransformer (attnOnly, standard learned positions, pre-norm LayerNorm with weights and
 * biases, attention biases, ln_final, unembed bias), trained with a hand-rolled AdamW. Its
 * parameters are copied from a Glassbox model, so both start from the same weights.
 *
 * Projections keep tfjs's natural layout: W_Q [d_model, n_heads·d_head] rather than
 * [n_heads, d_model, d_head]; the values and the parameter count are the same.
 */

import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package does, through
// dist/register_all_gradients, which Node's ESM loader cannot resolve); register those this model
// differentiates. The engine and its registries are global, so these modules share them.
import { addGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Add_grad.js';
import { batchMatMulGradConfig } from '@tensorflow/tfjs-core/dist/gradients/BatchMatMul_grad.js';
import { castGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Cast_grad.js';
import { identityGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Identity_grad.js';
import { meanGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Mean_grad.js';
import { multiplyGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Multiply_grad.js';
import { negGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Neg_grad.js';
import { divGradConfig } from '@tensorflow/tfjs-core/dist/gradients/RealDiv_grad.js';
import { reshapeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Reshape_grad.js';
import { rsqrtGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Rsqrt_grad.js';
import { sliceGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Slice_grad.js';
import { softmaxGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Softmax_grad.js';
import { squareGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Square_grad.js';
import { squaredDifferenceGradConfig } from '@tensorflow/tfjs-core/dist/gradients/SquaredDifference_grad.js';
import { subGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sub_grad.js';
import { sumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sum_grad.js';
import { transposeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Transpose_grad.js';

const GRADIENTS = [
  addGradConfig,
  batchMatMulGradConfig,
  castGradConfig,
  identityGradConfig,
  meanGradConfig,
  multiplyGradConfig,
  negGradConfig,
  divGradConfig,
  reshapeGradConfig,
  rsqrtGradConfig,
  sliceGradConfig,
  softmaxGradConfig,
  squareGradConfig,
  squaredDifferenceGradConfig,
  subGradConfig,
  sumGradConfig,
  transposeGradConfig,
];

export interface AttnOnlyConfig {
  nLayers: number;
  dModel: number;
  nHeads: number;
  dHead: number;
  nCtx: number;
  dVocab: number;
  eps: number;
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface TfjsModelOptions {
  /**
   * Differentiate matmuls with explicit transposes (dA = dy·transpose(B), dB = transpose(A)·dy)
   * instead of tfjs's own gradient, whose transposed BatchMatMul calls tfjs-backend-wasm runs far
   * slower than plain ones. Also computes q·kᵀ as q·transpose(k). Same values, less time.
   */
  explicitTransposes?: boolean;
  /** Prefixes the variable names, which tfjs requires to be unique across models. */
  name?: string;
}

/** Glassbox state-dict values by TransformerLens name, flat and row-major. */
export type Weights = Record<string, { shape: readonly number[]; data: Float32Array }>;

export interface TfjsAttnOnly {
  variables: tf.Variable[];
  parameterCount: number;
  /** Mean next-token cross-entropy on tokens [batch, pos], without gradients. */
  loss(tokens: tf.Tensor2D): number;
  /** One forward, backward and AdamW update; returns the loss before the update. */
  trainStep(tokens: tf.Tensor2D): number;
  dispose(): void;
}

/**
 * tf.gather's gradient needs UnsortedSegmentSum, which tfjs-backend-wasm lacks; ScatterNd sums
 * rows that share a token id, which is the same gradient.
 */
function embedRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const rows = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w, i, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([i]);
    return {
      value: tf.gather(w, i),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const index = tf.reshape(saved[0]!, [-1, 1]);
        return [tf.scatterND(index, dy, table.shape), tf.zerosLike(saved[0]!)];
      },
    };
  });
  return rows(table, ids) as tf.Tensor2D;
}

/** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · w + b, with the biased variance. */
function layerNorm(x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), w), b);
}

/** Swaps the last two axes. */
function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  perm.push(...perm.splice(-2).reverse());
  return tf.transpose(x, perm);
}

/** a·b with the gradient written as untransposed products of explicit transposes. */
const plainMatMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy, swapLast(saved[1]!)), tf.matMul(swapLast(saved[0]!), dy)],
  };
});

export function tfjsAttnOnly(cfg: AttnOnlyConfig, weights: Weights, adamw: AdamWOptions, options: TfjsModelOptions = {}): TfjsAttnOnly {
  const explicit = options.explicitTransposes ?? false;
  // a·b, or a·bᵀ when transposeB is set.
  const matMul = <T extends tf.Tensor>(a: T, b: tf.Tensor, transposeB = false): T =>
    (explicit ? plainMatMul(a, transposeB ? swapLast(b) : b) : tf.matMul(a, b, false, transposeB)) as T;
  for (const config of GRADIENTS) if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  const { nLayers, dModel: d, nHeads: h, dHead: dh, dVocab } = cfg;
  const hd = h * dh;
  const take = (name: string) => {
    const w = weights[name];
    if (!w) throw new Error(`tfjsAttnOnly: missing weight ${name}`);
    return w;
  };
  const variable = (name: string, t: tf.Tensor) => {
    const v = tf.variable(t, true, options.name ? `${options.name}/${name}` : name);
    t.dispose();
    return v;
  };
  // [h, d, dh] -> [d, h·dh], so that one matmul projects every head.
  const perHeadIn = (name: string) => {
    const w = take(name);
    return variable(name, tf.tidy(() => tf.reshape(tf.transpose(tf.tensor3d(w.data, [h, d, dh]), [1, 0, 2]), [d, hd])));
  };
  const plain = <R extends tf.Rank>(name: string, shape: number[]) => variable(name, tf.tensor(take(name).data, shape)) as tf.Variable<R>;

  const W_E = plain<tf.Rank.R2>('embed.W_E', [dVocab, d]);
  const W_pos = plain<tf.Rank.R2>('pos_embed.W_pos', [cfg.nCtx, d]);
  const layers = Array.from({ length: nLayers }, (_, l) => {
    const p = `blocks.${l}`;
    return {
      lnW: plain<tf.Rank.R1>(`${p}.ln1.w`, [d]),
      lnB: plain<tf.Rank.R1>(`${p}.ln1.b`, [d]),
      W_Q: perHeadIn(`${p}.attn.W_Q`),
      W_K: perHeadIn(`${p}.attn.W_K`),
      W_V: perHeadIn(`${p}.attn.W_V`),
      W_O: plain<tf.Rank.R2>(`${p}.attn.W_O`, [hd, d]),
      b_Q: plain<tf.Rank.R1>(`${p}.attn.b_Q`, [hd]),
      b_K: plain<tf.Rank.R1>(`${p}.attn.b_K`, [hd]),
      b_V: plain<tf.Rank.R1>(`${p}.attn.b_V`, [hd]),
      b_O: plain<tf.Rank.R1>(`${p}.attn.b_O`, [d]),
    };
  });
  const lnFinalW = plain<tf.Rank.R1>('ln_final.w', [d]);
  const lnFinalB = plain<tf.Rank.R1>('ln_final.b', [d]);
  const W_U = plain<tf.Rank.R2>('unembed.W_U', [d, dVocab]);
  const b_U = plain<tf.Rank.R1>('unembed.b_U', [dVocab]);
  const variables = [W_E, W_pos, ...layers.flatMap((l) => Object.values(l)), lnFinalW, lnFinalB, W_U, b_U];
  const parameterCount = variables.reduce((n, v) => n + v.size, 0);

  const masks = new Map<number, tf.Tensor2D>();
  const futureMask = (pos: number) => {
    let mask = masks.get(pos);
    if (!mask) {
      const index = tf.range(0, pos, 1, 'int32');
      const later = tf.greater(tf.expandDims(index, 0), tf.expandDims(index, 1));
      mask = tf.keep(tf.where(later, tf.fill([pos, pos], Number.NEGATIVE_INFINITY), tf.zeros([pos, pos]))) as tf.Tensor2D;
      tf.dispose([index, later]);
      masks.set(pos, mask);
    }
    return mask;
  };

  // tokens [batch, pos] -> logits [batch·pos, d_vocab]
  const forward = (tokens: tf.Tensor2D): tf.Tensor2D => {
    const [batch, pos] = tokens.shape;
    const rows = batch * pos;
    const embedded = embedRows(W_E, tf.reshape(tokens, [rows]) as tf.Tensor1D);
    const positions = tf.slice(W_pos, [0, 0], [pos, d]);
    let resid = tf.reshape(tf.add(tf.reshape(embedded, [batch, pos, d]), positions), [rows, d]) as tf.Tensor2D;
    const heads = (x: tf.Tensor2D) => tf.transpose(tf.reshape(x, [batch, pos, h, dh]), [0, 2, 1, 3]) as tf.Tensor4D; // [batch, head, pos, d_head]
    for (const l of layers) {
      const x = layerNorm(resid, l.lnW, l.lnB, cfg.eps);
      const q = heads(tf.mul(tf.add(matMul(x, l.W_Q), l.b_Q), 1 / Math.sqrt(dh)));
      const k = heads(tf.add(matMul(x, l.W_K), l.b_K));
      const v = heads(tf.add(matMul(x, l.W_V), l.b_V));
      const scores = tf.add(matMul(q, k, true), futureMask(pos)); // [batch, head, query, key]
      const pattern = tf.softmax(scores, -1);
      const z = tf.reshape(tf.transpose(matMul(pattern, v), [0, 2, 1, 3]), [rows, hd]);
      resid = tf.add(resid, tf.add(matMul(z, l.W_O), l.b_O));
    }
    return tf.add(matMul(layerNorm(resid, lnFinalW, lnFinalB, cfg.eps), W_U), b_U);
  };

  // Next-token cross-entropy: the logits at position p predict the token at p + 1.
  const lossOf = (tokens: tf.Tensor2D): tf.Scalar => {
    const [batch, pos] = tokens.shape;
    const logits = tf.reshape(forward(tokens), [batch, pos, dVocab]);
    const predictions = tf.reshape(tf.slice(logits, [0, 0, 0], [batch, pos - 1, dVocab]), [-1, dVocab]);
    const targets = tf.reshape(tf.slice(tokens, [0, 1], [batch, pos - 1]), [-1]) as tf.Tensor1D;
    const picked = tf.sum(tf.mul(tf.logSoftmax(predictions), tf.oneHot(targets, dVocab)), -1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  };

  const moments = variables.map((v) => ({ m: tf.variable(tf.zerosLike(v), false), v: tf.variable(tf.zerosLike(v), false) }));
  let t = 0;
  // torch.optim.AdamW: p ← p·(1 − lr·wd); m, v moving averages; p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps).
  const update = (grads: tf.NamedTensorMap) => {
    t += 1;
    const { lr, beta1, beta2, eps, weightDecay } = adamw;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    variables.forEach((p, i) => {
      const g = grads[p.name]!;
      const s = moments[i]!;
      s.m.assign(tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1)));
      s.v.assign(tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(g), 1 - beta2)));
      const denom = tf.add(tf.div(tf.sqrt(s.v), bc2Sqrt), eps);
      p.assign(tf.sub(tf.mul(p, 1 - lr * weightDecay), tf.mul(tf.div(s.m, denom), stepSize)));
    });
  };

  return {
    variables,
    parameterCount,
    loss: (tokens) => tf.tidy(() => lossOf(tokens).dataSync()[0]!),
    trainStep: (tokens) =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => lossOf(tokens), variables);
        update(grads);
        return value.dataSync()[0]!;
      }),
    dispose: () => {
      tf.dispose(variables);
      tf.dispose(moments.flatMap((s) => [s.m, s.v]));
      tf.dispose([...masks.values()]);
    },
  };
}
