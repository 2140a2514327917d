import { Generator, ShapeError, type Tensor, ValueError, formatShape, indexSelect, tensor } from '@glassbox/tensor';

/** Plain JSON, for checkpointed state. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Where training batches come from: a model's hook streamed over a dataset, a disk cache, a
 * synthetic generator, or a fixed tensor. A source that can save and restore its position makes
 * training resumable bit for bit.
 */
export interface ActivationSource {
  /** Width of each activation row. */
  readonly dIn: number;
  /**
   * A factor the source has already multiplied raw activations by (a normalising store); the
   * trainer folds it into the SAEs at the end, so they take raw activations. Default 1.
   */
  readonly scale?: number;
  /** The next batch of rows. // [batchSize, d_in] */
  next(batchSize: number): Tensor | Promise<Tensor>;
  /** The position in the stream, as JSON. */
  getState?(): Json;
  /** Continues from a getState() result. */
  setState?(state: Json): void;
}

/**
 * Cycles through the rows of a fixed [n, d_in] tensor in a fresh seeded permutation each epoch.
 * Batches may straddle epochs.
 */
export function tensorSource(data: Tensor, options: { seed?: number; shuffle?: boolean } = {}): ActivationSource {
  if (data.rank !== 2 || data.shape[0] === 0) {
    throw new ShapeError('activations must be a non-empty matrix', { op: 'tensorSource', arg: 'data', expected: '[n, d_in] with n >= 1', given: formatShape(data.shape) });
  }
  const n = data.shape[0]!;
  const { seed = 0, shuffle = true } = options;
  const generator = Generator.fromSeed(seed);
  let order = shuffle ? generator.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
  let position = 0;
  let epoch = 0;
  return {
    dIn: data.shape[1]!,
    next(batchSize: number): Tensor {
      if (!Number.isInteger(batchSize) || batchSize < 1) {
        throw new ValueError('invalid batch size', { op: 'tensorSource.next', arg: 'batchSize', expected: 'a positive integer', given: String(batchSize) });
      }
      const picks = new Int32Array(batchSize);
      for (let i = 0; i < batchSize; i++) {
        if (position === n) {
          position = 0;
          epoch++;
          if (shuffle) order = generator.permutation(n);
        }
        picks[i] = order[position++]!;
      }
      return indexSelect(data, 0, tensor(picks, { shape: [batchSize] }));
    },
    getState: () => ({ position, epoch, order: Array.from(order), generator: generator.getState() }),
    setState(state: Json) {
      const s = state as { position: number; epoch: number; order: number[]; generator: number[] };
      position = s.position;
      epoch = s.epoch;
      order = Int32Array.from(s.order);
      generator.setState(s.generator);
    },
  };
}
