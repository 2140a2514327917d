import { track } from '../autograd/graph.ts';
import type { SliceSpec } from '../autograd/op-attrs.ts';
import { promoteTypes } from '../dtype.ts';
import { ShapeError, ValueError, formatShape } from '../errors.ts';
import { assertValidShape, contiguousStrides, isContiguous, normalizeAxes, normalizeAxis, shapesEqual, sizeOf } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { cast } from './elementwise.ts';
import { fromHandle } from './util.ts';

/** A view of the same buffer with new geometry. */
function view(x: Tensor, shape: readonly number[], strides: readonly number[], offset = x.offset): Tensor {
  return new Tensor(x.backend, { handle: x.handle, dtype: x.dtype, shape, strides, offset });
}

/** The data in row-major order; returns `x` itself when it already is. */
export function contiguous(x: Tensor): Tensor {
  if (isContiguous(x.shape, x.strides)) return x;
  const handle = x.backend.kernels.copy(x, x.dtype);
  return track('contiguous', [x], {}, fromHandle(x.backend, handle, x.shape, x.dtype));
}

function resolveShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const inferred = shape.filter((d) => d === -1).length;
  const known = sizeOf(shape.filter((d) => d !== -1));
  const invalid = shape.some((d) => !Number.isInteger(d) || d < -1) || inferred > 1;
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (invalid || !Number.isInteger(sizeOf(resolved)) || sizeOf(resolved) !== x.size) {
    throw new ShapeError('cannot reshape', {
      op,
      arg: 'shape',
      expected: `a shape with ${x.size} elements (at most one -1)`,
      given: `${formatShape(shape)} for a tensor of shape ${formatShape(x.shape)}`,
    });
  }
  return resolved;
}

/** A view when the data is contiguous, a copy otherwise. One dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = resolveShape('reshape', x, shape);
  if (shapesEqual(target, x.shape)) return x;
  const source = contiguous(x);
  return track('reshape', [source], { shape: target }, view(source, target, contiguousStrides(target)));
}

export function permute(x: Tensor, order: readonly number[]): Tensor {
  const resolved = order.map((a) => normalizeAxis('permute', a, x.rank, 'order'));
  if (resolved.length !== x.rank || new Set(resolved).size !== x.rank) {
    throw new ValueError('not a permutation of the axes', {
      op: 'permute',
      arg: 'order',
      expected: `a permutation of [0..${x.rank - 1}]`,
      given: `[${order.join(', ')}]`,
    });
  }
  if (resolved.every((a, i) => a === i)) return x;
  return track(
    'permute',
    [x],
    { order: resolved },
    view(
      x,
      resolved.map((a) => x.shape[a]!),
      resolved.map((a) => x.strides[a]!),
    ),
  );
}

export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const order = [...x.shape.keys()];
  const a = normalizeAxis('transpose', axis0, x.rank, 'axis0');
  const b = normalizeAxis('transpose', axis1, x.rank, 'axis1');
  [order[a], order[b]] = [order[b]!, order[a]!];
  return permute(x, order);
}

/** Broadcasts to `shape` without copying (stride 0); -1 keeps a dimension. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.rank;
  const fail = () =>
    new ShapeError('cannot expand', {
      op: 'expand',
      arg: 'shape',
      expected: 'a shape that only stretches size-1 dimensions or adds leading ones',
      given: `${formatShape(shape)} for a tensor of shape ${formatShape(x.shape)}`,
    });
  if (lead < 0) throw fail();
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  assertValidShape('expand', target);
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const own = x.shape[i - lead]!;
    if (own === d) return x.strides[i - lead]!;
    if (own === 1) return 0;
    throw fail();
  });
  if (shapesEqual(target, x.shape)) return x;
  return track('expand', [x], { shape: target }, view(x, target, strides));
}

export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const drop = axes === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axes, x.rank);
  return reshape(
    x,
    x.shape.filter((d, i) => !(drop.includes(i) && d === 1)),
  );
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const at = normalizeAxis('unsqueeze', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(at, 0, 1);
  return reshape(x, shape);
}

export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const start = normalizeAxis('flatten', startAxis, x.rank, 'startAxis');
  const end = normalizeAxis('flatten', endAxis, x.rank, 'endAxis');
  return reshape(x, [...x.shape.slice(0, start), sizeOf(x.shape.slice(start, end + 1)), ...x.shape.slice(end + 1)]);
}

/** A range along one axis, Python style: negative indices count from the end; null means the whole axis. */
export type SliceRange = readonly [start?: number | null, stop?: number | null, step?: number] | null | undefined;

function resolveSlice(x: Tensor, ranges: readonly SliceRange[]): SliceSpec {
  if (ranges.length > x.rank) {
    throw new ValueError('too many slice ranges', { op: 'slice', arg: 'ranges', expected: `at most ${x.rank}`, given: String(ranges.length) });
  }
  return x.shape.map((size, axis) => {
    const range = ranges[axis];
    const step = range?.[2] ?? 1;
    if (!Number.isInteger(step) || step < 1) {
      throw new ValueError('slice step must be a positive integer (use flip to reverse)', {
        op: 'slice',
        arg: `ranges[${axis}]`,
        expected: 'step >= 1',
        given: String(step),
      });
    }
    const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
    const start = clampIndex(range?.[0] ?? 0);
    const stop = Math.max(start, clampIndex(range?.[1] ?? size));
    return [start, stop, step] as const;
  });
}

/** A strided view: `slice(x, [[0, 4], null, [1, null, 2]])`. */
export function slice(x: Tensor, ranges: readonly SliceRange[]): Tensor {
  const spec = resolveSlice(x, ranges);
  if (spec.every(([start, stop, step], i) => start === 0 && stop === x.shape[i] && step === 1)) return x;
  return track('slice', [x], { spec }, slicedView(x, spec));
}

/** `length` entries of one axis from `start`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis('narrow', axis, x.rank);
  const ranges: SliceRange[] = x.shape.map(() => null);
  ranges[a] = [start, start + length];
  return slice(x, ranges);
}

/** Reverses the given axes, as a view with negative strides. */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  const resolved = normalizeAxes('flip', axes, x.rank);
  if (resolved.length === 0) return x;
  let offset = x.offset;
  const strides = x.strides.map((s, i) => {
    if (!resolved.includes(i) || x.shape[i] === 0) return s;
    offset += (x.shape[i]! - 1) * s;
    return -s;
  });
  return track('flip', [x], { axes: resolved }, view(x, x.shape, strides, offset));
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const first = xs[0];
  if (!first) throw new ValueError('nothing to concatenate', { op: 'concat', arg: 'tensors', expected: 'at least one tensor', given: '[]' });
  const a = normalizeAxis('concat', axis, first.rank);
  xs.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((d, j) => j !== a && d !== first.shape[j])) {
      throw new ShapeError('shapes differ outside the concatenation axis', {
        op: 'concat',
        arg: `tensors[${i}]`,
        expected: `rank ${first.rank} and sizes ${formatShape(first.shape)} on every axis but ${a}`,
        given: formatShape(t.shape),
      });
    }
  });
  const dtype = xs.map((t) => t.dtype).reduce(promoteTypes);
  const inputs = xs.map((t) => cast(t, dtype));
  const shape = [...first.shape];
  shape[a] = inputs.reduce((total, t) => total + t.shape[a]!, 0);
  const backend = first.backend;
  const out = fromHandle(backend, backend.kernels.fill(dtype, sizeOf(shape), 0), shape, dtype);
  let start = 0;
  for (const t of inputs) {
    const ranges: SliceRange[] = shape.map(() => null);
    ranges[a] = [start, start + t.shape[a]!];
    backend.kernels.assign(sliceView(out, ranges), t);
    start += t.shape[a]!;
  }
  return track('concat', inputs, { axis: a }, out);
}

/** The strided view a resolved slice selects, unrecorded: slice() records it; concat, pad and sliceScatter write into it. */
function slicedView(x: Tensor, spec: SliceSpec): Tensor {
  let offset = x.offset;
  const shape = spec.map(([start, stop, step], i) => {
    offset += start * x.strides[i]!;
    return Math.ceil((stop - start) / step);
  });
  return view(
    x,
    shape,
    spec.map(([, , step], i) => x.strides[i]! * step),
    offset,
  );
}

/** A slice of a fresh buffer, for writing into it. */
function sliceView(x: Tensor, ranges: readonly SliceRange[]): Tensor {
  return slicedView(x, resolveSlice(x, ranges));
}

/** Zeros of `shape` with `src` written into the region `spec`: the gradient of slice. */
export function sliceScatter(src: Tensor, shape: readonly number[], spec: SliceSpec): Tensor {
  const backend = src.backend;
  const out = fromHandle(backend, backend.kernels.fill(src.dtype, sizeOf(shape), 0), shape, src.dtype);
  backend.kernels.assign(slicedView(out, spec), src);
  return out;
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  const first = xs[0];
  if (!first) throw new ValueError('nothing to stack', { op: 'stack', arg: 'tensors', expected: 'at least one tensor', given: '[]' });
  const a = normalizeAxis('stack', axis, first.rank + 1);
  return concat(
    xs.map((t) => unsqueeze(t, a)),
    a,
  );
}

/** Splits along an axis into pieces of the given sizes, or into `sections` equal pieces. */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis('split', axis, x.rank);
  const length = x.shape[a]!;
  const pieces = typeof sizes === 'number' ? Array.from({ length: Math.ceil(length / sizes) }, (_, i) => Math.min(sizes, length - i * sizes)) : sizes;
  if (pieces.reduce((s, p) => s + p, 0) !== length || pieces.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ValueError('split sizes do not add up to the axis length', {
      op: 'split',
      arg: 'sizes',
      expected: `non-negative sizes summing to ${length}`,
      given: `[${pieces.join(', ')}]`,
    });
  }
  let start = 0;
  return pieces.map((p) => {
    const piece = narrow(x, a, start, p);
    start += p;
    return piece;
  });
}

/** Constant padding: `pads[i] = [before, after]` for axis i (missing trailing entries mean no padding). */
export function pad(x: Tensor, pads: ReadonlyArray<readonly [number, number]>, value = 0): Tensor {
  if (pads.length > x.rank || pads.some(([b, e]) => !Number.isInteger(b) || !Number.isInteger(e) || b < 0 || e < 0)) {
    throw new ValueError('invalid padding', {
      op: 'pad',
      arg: 'pads',
      expected: `at most ${x.rank} pairs of non-negative integers`,
      given: JSON.stringify(pads),
    });
  }
  const full = x.shape.map((_, i) => pads[i] ?? ([0, 0] as const));
  const shape = x.shape.map((d, i) => d + full[i]![0] + full[i]![1]);
  const backend = x.backend;
  const out = fromHandle(backend, backend.kernels.fill(x.dtype, sizeOf(shape), value), shape, x.dtype);
  backend.kernels.assign(
    sliceView(
      out,
      full.map(([before], i) => [before, before + x.shape[i]!]),
    ),
    x,
  );
  return track('pad', [x], { pads: full, value }, out);
}
