import { track } from '../autograd/graph.ts';
import { ShapeError, ValueError, formatShape } from '../errors.ts';
import { broadcastShapes, sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { cast } from './elementwise.ts';
import { expand, permute, reshape, squeeze, unsqueeze } from './movement.ts';
import { sum } from './reduce.ts';
import { asTensors, fromHandle } from './util.ts';

/**
 * Matrix product with PyTorch semantics: `[..., m, k] @ [..., k, n]` with broadcast batch
 * dimensions; a 1-d operand is treated as a row (left) or column (right) vector and dropped.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  [a, b] = asTensors('matmul', [a, b]) as [Tensor, Tensor];
  if (a.rank === 0 || b.rank === 0) {
    throw new ShapeError('matmul needs at least 1-d operands', {
      op: 'matmul',
      arg: a.rank === 0 ? 'a' : 'b',
      expected: 'a tensor of rank >= 1',
      given: 'a 0-d tensor',
    });
  }
  const x = a.rank === 1 ? unsqueeze(a, 0) : a;
  const y = b.rank === 1 ? unsqueeze(b, -1) : b;
  const [m, k] = x.shape.slice(-2) as [number, number];
  const [k2, n] = y.shape.slice(-2) as [number, number];
  if (k !== k2) {
    throw new ShapeError('inner dimensions differ', {
      op: 'matmul',
      arg: 'b',
      expected: `shape [..., ${k}, n] to match a of shape ${formatShape(a.shape)}`,
      given: formatShape(b.shape),
    });
  }
  const batch = broadcastShapes('matmul', x.shape.slice(0, -2), y.shape.slice(0, -2));
  const xe = expand(cast(x, 'float32'), [...batch, m, k]);
  const ye = expand(cast(y, 'float32'), [...batch, k, n]);
  const handle = xe.backend.kernels.matmul(xe, ye);
  let out = track('matmul', [xe, ye], {}, fromHandle(xe.backend, handle, [...batch, m, n], 'float32'));
  if (a.rank === 1) out = squeeze(out, -2);
  if (b.rank === 1) out = squeeze(out, -1);
  return out;
}

/**
 * Einstein summation over one or two operands, e.g. `einsum('bqhd,bkhd->bhqk', q, k)`.
 * It reduces to permutes, sums and one batched matmul. Each index appears at most once per operand.
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  const fail = (why: string, given: string) => new ValueError(why, { op: 'einsum', arg: 'equation', expected: "'ab,bc->ac' style with one or two operands", given });
  const [lhs, explicit] = equation.replace(/\s+/g, '').split('->') as [string, string | undefined];
  const inputs = lhs.split(',');
  if (inputs.length !== operands.length || inputs.length < 1 || inputs.length > 2) throw fail('operand count does not match', equation);
  inputs.forEach((spec, i) => {
    if (!/^[a-zA-Z]*$/.test(spec) || new Set(spec).size !== spec.length) throw fail('each operand needs distinct letters', equation);
    if (spec.length !== operands[i]!.rank) {
      throw new ShapeError('subscript count does not match the operand rank', {
        op: 'einsum',
        arg: `operands[${i}]`,
        expected: `rank ${spec.length} for '${spec}'`,
        given: formatShape(operands[i]!.shape),
      });
    }
  });
  const counts = new Map<string, number>();
  for (const c of inputs.join('')) counts.set(c, (counts.get(c) ?? 0) + 1);
  const output = explicit ?? [...counts.keys()].filter((c) => counts.get(c) === 1).sort().join('');
  if (!/^[a-zA-Z]*$/.test(output) || [...output].some((c) => !counts.has(c))) throw fail('output letters must appear in an input', equation);

  const sizes = new Map<string, number>();
  inputs.forEach((spec, i) => {
    [...spec].forEach((c, j) => {
      const d = operands[i]!.shape[j]!;
      const seen = sizes.get(c);
      if (seen !== undefined && seen !== d && seen !== 1 && d !== 1) {
        throw new ShapeError(`size of index '${c}' differs between operands`, { op: 'einsum', arg: `operands[${i}]`, expected: String(seen), given: String(d) });
      }
      // A size-1 index broadcasts against any size, 0 included.
      sizes.set(c, seen === undefined || seen === 1 ? d : seen);
    });
  });
  // Sum out letters that appear in only one operand and not in the output.
  const reduced = inputs.map((spec, i) => {
    const drop = [...spec].flatMap((c, j) => (!output.includes(c) && counts.get(c) === 1 ? [j] : []));
    return { spec: [...spec].filter((_, j) => !drop.includes(j)).join(''), tensor: drop.length ? sum(operands[i]!, drop) : operands[i]! };
  });
  if (reduced.length === 1) {
    const { spec, tensor } = reduced[0]!;
    return permute(tensor, [...output].map((c) => spec.indexOf(c)));
  }
  const [A, B] = reduced as [(typeof reduced)[0], (typeof reduced)[0]];
  const batch = [...output].filter((c) => A.spec.includes(c) && B.spec.includes(c));
  const freeA = [...A.spec].filter((c) => output.includes(c) && !B.spec.includes(c));
  const freeB = [...B.spec].filter((c) => output.includes(c) && !A.spec.includes(c));
  const contracted = [...A.spec].filter((c) => B.spec.includes(c) && !output.includes(c));
  const arrange = (side: typeof A, order: string[]) => {
    const shape = order.map((c) => sizes.get(c)!);
    return expand(
      permute(
        side.tensor,
        order.map((c) => side.spec.indexOf(c)),
      ),
      shape,
    );
  };
  const size = (letters: string[]) => sizeOf(letters.map((c) => sizes.get(c)!));
  const left = reshape(arrange(A, [...batch, ...freeA, ...contracted]), [size(batch), size(freeA), size(contracted)]);
  const right = reshape(arrange(B, [...batch, ...contracted, ...freeB]), [size(batch), size(contracted), size(freeB)]);
  const product = reshape(matmul(left, right), [...batch, ...freeA, ...freeB].map((c) => sizes.get(c)!));
  const produced = [...batch, ...freeA, ...freeB];
  return permute(
    product,
    [...output].map((c) => produced.indexOf(c)),
  );
}
