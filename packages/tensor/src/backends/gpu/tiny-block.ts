import type { Backend } from '../../backend.ts';
import { tensor } from '../../creation.ts';
import { add, crossEntropy, div, embedding, gelu, layerNorm, matmul, permute, reshape, softmax } from '../../ops/index.ts';
import { Generator } from '../../random.ts';
import type { Tensor } from '../../tensor.ts';

// A one-layer transformer block small enough for software rendering: the forward and backward
// step that the browser page and the benchmark run on each backend and compare.

export interface BlockConfig {
  readonly dVocab: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dMlp: number;
  readonly nCtx: number;
  readonly batch: number;
}

export const TINY_BLOCK: BlockConfig = { dVocab: 16, dModel: 16, nHeads: 2, dMlp: 32, nCtx: 8, batch: 2 };

export interface HostArray {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** Seeded parameters and a batch of token ids and targets, on the host. */
export function blockData(config: BlockConfig, seed = 0): { params: Record<string, HostArray>; ids: HostArray; targets: HostArray } {
  const g = Generator.fromSeed(seed);
  const { dVocab: v, dModel: d, dMlp: m, nCtx: t, batch: b } = config;
  const normal = (shape: number[], std: number): HostArray => ({ shape, data: g.fillNormal(new Float32Array(shape.reduce((p, q) => p * q, 1)), 0, std) });
  const constant = (shape: number[], value: number): HostArray => ({ shape, data: new Float32Array(shape.reduce((p, q) => p * q, 1)).fill(value) });
  const tokens = (): HostArray => ({ shape: [b, t], data: Int32Array.from({ length: b * t }, () => g.randint(0, v)) });
  return {
    params: {
      W_E: normal([v, d], 0.5),
      W_pos: normal([t, d], 0.1),
      ln1_w: constant([d], 1),
      ln1_b: constant([d], 0),
      W_Q: normal([d, d], 0.3),
      W_K: normal([d, d], 0.3),
      W_V: normal([d, d], 0.3),
      W_O: normal([d, d], 0.3),
      ln2_w: constant([d], 1),
      ln2_b: constant([d], 0),
      W_in: normal([d, m], 0.3),
      b_in: constant([m], 0.01),
      W_out: normal([m, d], 0.2),
      b_out: constant([d], 0),
      W_U: normal([d, v], 0.3),
    },
    ids: tokens(),
    targets: tokens(),
  };
}

export function toTensor(a: HostArray, backend: Backend<unknown>, requiresGrad = false): Tensor {
  return tensor(a.data, { shape: a.shape, backend, requiresGrad });
}

/** The block's mean next-token loss: embed, attention with a causal mask, MLP, unembed. */
export function blockLoss(p: Record<string, Tensor>, ids: Tensor, targets: Tensor, config: BlockConfig): Tensor {
  const { dModel: d, nHeads: h, nCtx: t, batch: b, dVocab: v } = config;
  const dHead = d / h;
  const backend = ids.backend;
  const x = add(embedding(p.W_E!, ids), p.W_pos!); // [batch, pos, d_model]
  const h1 = layerNorm(x, p.ln1_w!, p.ln1_b!);
  const heads = (w: Tensor) => permute(reshape(matmul(h1, w), [b, t, h, dHead]), [0, 2, 1, 3]); // [batch, head_index, pos, d_head]
  const q = heads(p.W_Q!);
  const k = heads(p.W_K!);
  const vv = heads(p.W_V!);
  const mask = tensor(Float32Array.from({ length: t * t }, (_, i) => (i % t > Math.floor(i / t) ? -1e9 : 0)), { shape: [t, t], backend });
  const pattern = softmax(add(div(matmul(q, permute(k, [0, 1, 3, 2])), Math.sqrt(dHead)), mask), -1); // [batch, head_index, query_pos, key_pos]
  const z = reshape(permute(matmul(pattern, vv), [0, 2, 1, 3]), [b, t, d]);
  const x2 = add(x, matmul(z, p.W_O!));
  const h2 = layerNorm(x2, p.ln2_w!, p.ln2_b!);
  const x3 = add(x2, add(matmul(gelu(add(matmul(h2, p.W_in!), p.b_in!)), p.W_out!), p.b_out!));
  const logits = matmul(x3, p.W_U!); // [batch, pos, d_vocab]
  return crossEntropy(reshape(logits, [b * t, v]), reshape(targets, [b * t]));
}
