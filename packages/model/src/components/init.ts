import { type Generator, type Tensor, mul, randn, zeros } from '@glassbox/tensor';

/**
 * Normal(0, std²) values of the given shape, drawn from `generator`; zeros when there is none (the
 * model was built with `init: 'none'`, for weights that are loaded right after).
 */
export function normalInit(shape: readonly number[], std: number, generator: Generator | null): Tensor {
  return generator ? mul(randn(shape, { generator }), std) : zeros(shape);
}
