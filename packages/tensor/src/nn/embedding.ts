import { randn } from '../creation.ts';
import { embedding } from '../ops/index.ts';
import type { Generator } from '../random.ts';
import type { Tensor } from '../tensor.ts';
import { Module, checkSize } from './module.ts';

export interface EmbeddingOptions {
  /** Draws the initial values; defaults to the global generator (see manualSeed). */
  generator?: Generator;
}

/** A lookup table of rows, as torch.nn.Embedding: weight [num, dim], initialised N(0, 1). */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly weight: Tensor; // [num_embeddings, embedding_dim]

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    checkSize('Embedding', 'numEmbeddings', numEmbeddings);
    checkSize('Embedding', 'embeddingDim', embeddingDim);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.weight = this.param('weight', randn([numEmbeddings, embeddingDim], { generator: options.generator }));
  }

  // int32 ids [...] -> [..., embedding_dim]
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
