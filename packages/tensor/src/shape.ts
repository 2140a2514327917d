import { ShapeError, ValueError, formatShape } from './errors.ts';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting: align trailing dimensions; a size-1 dimension stretches. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const axis = rank - shape.length + i;
      const d = shape[i]!;
      const current = out[axis]!;
      if (current === 1) out[axis] = d;
      else if (d !== 1 && d !== current) {
        throw new ShapeError('shapes cannot be broadcast together', {
          op,
          expected: 'dimensions that are equal or 1 when aligned from the right',
          given: shapes.map(formatShape).join(' and '),
        });
      }
    }
  }
  return out;
}

/** Resolves a possibly negative axis against a rank, with an error naming the argument. */
export function normalizeAxis(op: string, axis: number, rank: number, arg = 'axis'): number {
  const lo = rank === 0 ? -1 : -rank;
  const hi = rank === 0 ? 0 : rank - 1;
  if (!Number.isInteger(axis) || axis < lo || axis > hi) {
    throw new ValueError('axis out of range', {
      op,
      arg,
      expected: `an integer in [${lo}, ${hi}] for a tensor of rank ${rank}`,
      given: String(axis),
    });
  }
  return axis < 0 ? axis + Math.max(rank, 1) : axis;
}

/** Resolves an axis list (undefined means all axes), sorted and without repeats. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const resolved = list.map((a) => normalizeAxis(op, a, rank, 'axes'));
  // A 0-d tensor accepts axis 0 or -1, as in PyTorch, and has nothing to reduce.
  if (rank === 0) return [];
  const unique = [...new Set(resolved)].sort((a, b) => a - b);
  if (unique.length !== resolved.length) {
    throw new ValueError('repeated axis', { op, arg: 'axes', expected: 'distinct axes', given: `[${list.join(', ')}]` });
  }
  return unique;
}

export function assertValidShape(op: string, shape: Shape, arg = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ValueError('invalid shape', {
        op,
        arg,
        expected: 'non-negative integer dimensions',
        given: formatShape(shape),
      });
    }
  }
}
