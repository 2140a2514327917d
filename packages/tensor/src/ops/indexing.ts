import { track } from '../autograd/graph.ts';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors.ts';
import { normalizeAxis } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { arange } from '../creation.ts';
import { cast, eq, ge, le, sub, where } from './elementwise.ts';
import { flatten, reshape, slice, transpose, unsqueeze } from './movement.ts';
import { fromHandle } from './util.ts';

function requireIndex(op: string, index: Tensor, arg = 'index'): void {
  if (index.dtype !== 'int32') {
    throw new DTypeError('indices must be int32', { op, arg, expected: 'int32', given: index.dtype });
  }
}

function checkGatherShapes(op: string, x: Tensor, axis: number, index: Tensor): void {
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== axis && d > x.shape[i]!)) {
    throw new ShapeError('index shape does not fit the input', {
      op,
      arg: 'index',
      expected: `rank ${x.rank} with sizes <= ${formatShape(x.shape)} off axis ${axis}`,
      given: formatShape(index.shape),
    });
  }
}

/** torch.gather: picks along `axis` by `index` (same rank as x); the output has index's shape. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normalizeAxis('gather', axis, x.rank);
  requireIndex('gather', index);
  checkGatherShapes('gather', x, a, index);
  const handle = x.backend.kernels.gather(x, a, index);
  return track('gather', [x, index], { axis: a }, fromHandle(x.backend, handle, index.shape, x.dtype));
}

/** torch.scatter_add: base with src added at index positions along axis. */
export function scatterAdd(base: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const a = normalizeAxis('scatterAdd', axis, base.rank);
  requireIndex('scatterAdd', index);
  checkGatherShapes('scatterAdd', base, a, index);
  if (src.rank !== index.rank || src.shape.some((d, i) => d < index.shape[i]!)) {
    throw new ShapeError('src is smaller than index', { op: 'scatterAdd', arg: 'src', expected: `at least ${formatShape(index.shape)}`, given: formatShape(src.shape) });
  }
  // As torch.scatter_add, only the leading index-shaped block of a larger src is used; the kernel
  // reads src by index position, so cut it to that block (a recorded slice, so src gets its gradient).
  const values = cast(slice(src, index.shape.map((d) => [0, d] as const)), base.dtype);
  const handle = base.backend.kernels.scatterAdd(base, a, index, values);
  return track('scatterAdd', [base, index, values], { axis: a }, fromHandle(base.backend, handle, base.shape, base.dtype));
}

/** Whole slices along `axis` picked by a 1-d index. */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normalizeAxis('indexSelect', axis, x.rank);
  requireIndex('indexSelect', index);
  if (index.rank !== 1) throw new ShapeError('index must be 1-d', { op: 'indexSelect', arg: 'index', expected: 'rank 1', given: formatShape(index.shape) });
  const shape = [...x.shape];
  shape[a] = index.shape[0]!;
  const handle = x.backend.kernels.indexSelect(x, a, index);
  return track('indexSelect', [x, index], { axis: a }, fromHandle(x.backend, handle, shape, x.dtype));
}

/** base with slices of src added at the positions of a 1-d index along axis. */
export function indexAdd(base: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const a = normalizeAxis('indexAdd', axis, base.rank);
  requireIndex('indexAdd', index);
  const expected = [...base.shape];
  expected[a] = index.size;
  if (index.rank !== 1 || src.rank !== base.rank || src.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError('src does not match base and index', { op: 'indexAdd', arg: 'src', expected: formatShape(expected), given: formatShape(src.shape) });
  }
  const values = cast(src, base.dtype);
  const handle = base.backend.kernels.indexAdd(base, a, index, values);
  return track('indexAdd', [base, index, values], { axis: a }, fromHandle(base.backend, handle, base.shape, base.dtype));
}

/** Rows of `weight` [vocab, d] for integer ids of any shape: [...ids.shape, d]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  return reshape(indexSelect(weight, 0, flatten(ids)), [...ids.shape, weight.shape[1]!]);
}

/** int32 one-hot encoding: [...ids.shape, numClasses]. */
export function oneHot(ids: Tensor, numClasses: number): Tensor {
  requireIndex('oneHot', ids, 'ids');
  const values = Array.from(ids.data());
  const bad = values.find((v) => v < 0 || v >= numClasses);
  if (bad !== undefined) {
    throw new ValueError('class id out of range', { op: 'oneHot', arg: 'ids', expected: `ids in [0, ${numClasses - 1}]`, given: String(bad) });
  }
  return eq(unsqueeze(ids, -1), arange(numClasses, { backend: ids.backend }));
}

function triangle(op: 'triu' | 'tril', x: Tensor, diagonal: number): Tensor {
  if (x.rank < 2) throw new ShapeError('needs a matrix', { op, arg: 'x', expected: 'rank >= 2', given: formatShape(x.shape) });
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  const offset = sub(unsqueeze(arange(cols, { backend: x.backend }), 0), unsqueeze(arange(rows, { backend: x.backend }), 1));
  const keep = op === 'triu' ? ge(offset, diagonal) : le(offset, diagonal);
  return where(keep, x, 0);
}

/** Upper triangle (column - row >= diagonal); the rest is zero. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle('triu', x, diagonal);
}

/** Lower triangle (column - row <= diagonal); the rest is zero. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle('tril', x, diagonal);
}

/** The k largest (or smallest) entries along an axis, best first; the gradient flows through the values. */
export function topk(x: Tensor, k: number, options: { axis?: number; largest?: boolean } = {}): { values: Tensor; indices: Tensor } {
  const { axis = -1, largest = true } = options;
  if (x.rank === 0) throw new ShapeError('topk needs at least one axis', { op: 'topk', arg: 'x', expected: 'rank >= 1', given: '[]' });
  const a = normalizeAxis('topk', axis, x.rank);
  const length = x.shape[a]!;
  if (!Number.isInteger(k) || k < 0 || k > length) {
    throw new ValueError('k out of range', { op: 'topk', arg: 'k', expected: `an integer in [0, ${length}]`, given: String(k) });
  }
  const last = transpose(x, a, -1);
  const handle = x.backend.kernels.topk(last, k, largest);
  const indicesLast = track('topkIndices', [last], { k, largest }, fromHandle(x.backend, handle, [...last.shape.slice(0, -1), k], 'int32'));
  const indices = transpose(indicesLast, a, -1);
  return { values: gather(x, a, indices), indices };
}
