/**
 * The tfjs contender of the sae-speed benchmark: a dense TopK SAE training step written by hand
 * in TensorFlow.js, as one would without sparse kernels. tf.topk's values and indices are scattered
 * into dense latents inside a customGrad (tfjs has no TopK gradient), which passes the gradient
 * through at the kept entries; then tf.variableGrads, the decoder-gradient projection,
 * tf.train.adam, and row renormalising.
 */

import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package does, through
// dist/register_all_gradients, which Node's ESM loader cannot resolve); register those this step
// differentiates, unless already there. The engine and its registries are global, so these modules share them.
import { addGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Add_grad.js';
import { multiplyGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Multiply_grad.js';
import { squareGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Square_grad.js';
import { subGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sub_grad.js';
import { sumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sum_grad.js';

for (const config of [addGradConfig, multiplyGradConfig, squareGradConfig, subGradConfig, sumGradConfig]) {
  if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
}

export interface TfjsSaeStep {
  /** One training step; returns the loss before the update. */
  step(): number;
  dispose(): void;
}

/** Builds the step on the current tfjs backend from the shared initial weights and batch. */
export function tfjsSaeStep(init: { wDec: Float32Array; x: Float32Array }, dims: { batch: number; dIn: number; dSae: number; k: number; lr: number }): TfjsSaeStep {
  const { batch, dIn, dSae, k, lr } = dims;
  const x = tf.tensor2d(init.x, [batch, dIn]);
  const W_dec = tf.variable(tf.tensor2d(init.wDec, [dSae, dIn]), true, 'W_dec');
  const W_enc = tf.variable(tf.tidy(() => tf.transpose(W_dec)), true, 'W_enc');
  const b_enc = tf.variable(tf.zeros([dSae]), true, 'b_enc');
  const b_dec = tf.variable(tf.zeros([dIn]), true, 'b_dec');
  const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);

  // relu(topk(pre)) scattered into a dense [batch, d_sae] matrix, as SAELens does; its gradient is
  // the upstream gradient at the kept entries. Row numbers pair with tf.topk's indices for scatterND.
  const rows = tf.tidy(() => tf.reshape(tf.tile(tf.reshape(tf.range(0, batch, 1, 'int32'), [batch, 1]), [1, k]), [batch * k, 1]));
  const topkRelu = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [pre, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const { values, indices } = tf.topk(pre, k, false);
    const at = tf.concat([rows, tf.reshape(indices, [batch * k, 1])], 1);
    const mask = tf.scatterND(at, tf.reshape(tf.cast(tf.greater(values, 0), 'float32'), [batch * k]), [batch, dSae]);
    save([mask]);
    return { value: tf.scatterND(at, tf.reshape(tf.relu(values), [batch * k]), [batch, dSae]), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
  });

  // a @ b whose gradient transposes explicitly: tfjs's own MatMul gradient uses transposed-operand
  // products, which tfjs-backend-wasm runs about 20–30× slower than a transpose and a plain product.
  const matMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, [sa, sb]: tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb!)), tf.matMul(tf.transpose(sa!), dy as tf.Tensor2D)],
    };
  }) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

  return {
    step() {
      return tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const pre = tf.add(matMul(tf.sub(x, b_dec), W_enc), b_enc);
          const recon = tf.add(matMul(topkRelu(pre), W_dec), b_dec);
          // Row sums first: one float32 sum over batch · d_in terms drifts by about 1e-3 at batch 4096.
          return tf.mul(tf.sum(tf.sum(tf.square(tf.sub(recon, x)), 1)), 1 / batch) as tf.Scalar;
        });
        const g = grads.W_dec!;
        const along = tf.div(tf.sum(tf.mul(g, W_dec), 1, true), tf.sum(tf.square(W_dec), 1, true));
        grads.W_dec = tf.sub(g, tf.mul(along, W_dec));
        optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
        W_dec.assign(tf.div(W_dec, tf.norm(W_dec, 'euclidean', 1, true)));
        return value.dataSync()[0]!;
      });
    },
    dispose() {
      optimizer.dispose();
      for (const t of [x, rows, W_dec, W_enc, b_enc, b_dec]) t.dispose();
    },
  };
}
