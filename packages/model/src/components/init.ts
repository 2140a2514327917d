import { type Generator, type Tensor, mul, randn } from '@glassbox/tensor';

/** Normal(0, std²) values of the given shape, drawn from `generator`. */
export function normalInit(shape: readonly number[], std: number, generator: Generator): Tensor {
  return mul(randn(shape, { generator }), std);
}
