import type { Backend } from '../backend.ts';
import { getBackend } from '../backends/index.ts';
import type { DType } from '../dtype.ts';
import { ValueError } from '../errors.ts';
import { Tensor, type TensorLike } from '../tensor.ts';

/** Wraps a freshly computed contiguous buffer as a tensor. */
export function fromHandle(backend: Backend<unknown>, handle: unknown, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(backend, { handle, shape, dtype });
}

/** A 0-d tensor holding `value`, on `backend`. */
export function scalarTensor(value: number, dtype: DType, backend: Backend<unknown> = getBackend()): Tensor {
  return fromHandle(backend, backend.kernels.fill(dtype, 1, value), [], dtype);
}

/** Turns scalars into 0-d tensors beside the tensor operands, checking that all share one backend. */
export function asTensors(op: string, values: readonly TensorLike[]): Tensor[] {
  const anchor = values.find((v): v is Tensor => v instanceof Tensor);
  const backend = anchor?.backend ?? getBackend();
  const floatContext = values.some((v) => v instanceof Tensor && v.dtype === 'float32');
  return values.map((v, i) => {
    if (v instanceof Tensor) {
      if (v.backend !== backend) {
        throw new ValueError('tensors live on different backends', {
          op,
          arg: `input ${i}`,
          expected: `a tensor on ${backend.name}`,
          given: `a tensor on ${v.backend.name}`,
        });
      }
      return v;
    }
    if (typeof v !== 'number') {
      throw new ValueError('not a tensor or a number', { op, arg: `input ${i}`, expected: 'Tensor | number', given: typeof v });
    }
    return scalarTensor(v, floatContext || !Number.isInteger(v) ? 'float32' : 'int32', backend);
  });
}
