import { rand } from '../creation.ts';
import { add, matmul, mul, sub, transpose } from '../ops/index.ts';
import type { Generator } from '../random.ts';
import type { Tensor } from '../tensor.ts';
import { Module, checkSize } from './module.ts';

export interface LinearOptions {
  /** Whether to learn an additive bias; default true. */
  bias?: boolean;
  /** Draws the initial values; defaults to the global generator (see manualSeed). */
  generator?: Generator;
}

/** Uniform on [-bound, bound) with the given shape, drawn from `generator`. */
export function uniformInit(shape: readonly number[], bound: number, generator?: Generator): Tensor {
  return sub(mul(rand(shape, { generator }), 2 * bound), bound);
}

/**
 * y = x Wᵀ + b, as torch.nn.Linear: weight [out, in] and bias [out], both initialised
 * U(−1/√in, 1/√in) (PyTorch's default, kaiming_uniform with a = √5), weight drawn first.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor; // [out, in]
  readonly bias: Tensor | null; // [out]

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], bound, options.generator));
    this.bias = options.bias === false ? null : this.param('bias', uniformInit([outFeatures], bound, options.generator));
  }

  // [..., in] -> [..., out]
  forward(x: Tensor): Tensor {
    const y = matmul(x, transpose(this.weight));
    return this.bias ? add(y, this.bias) : y;
  }
}
