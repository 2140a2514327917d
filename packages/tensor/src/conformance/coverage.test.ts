import { describe, expect, it } from 'vitest';
import { type GradientTable, type OpName, type Tensor, gradients, tensor } from '../index.ts';
import * as ops from '../ops/index.ts';
import { type GoldenCase, OP_CASES, TOLERANCES, decodeValues, loadGoldens } from './op-cases.ts';

// Coverage of the goldens is measured, not listed: each case runs and the primitives recorded on
// its tape are collected. Every primitive of the gradient table needs a forward golden, and every
// differentiable one a gradient golden.
const goldens = loadGoldens();
const primitives = Object.keys(gradients) as OpName[];
const differentiable = primitives.filter((op) => gradients[op] !== 'not-differentiable');

/** Public functions of ops/ that are not ops of their own. */
const NOT_OPS: ReadonlySet<string> = new Set([
  'zerosLike', // creation helpers, re-exported beside the ops
  'onesLike',
  'sliceScatter', // the gradient of slice: exercised by every slice gradient golden
]);

function run(c: GoldenCase, requiresGrad: (input: number) => boolean): Tensor[] {
  const inputs = c.inputs.map((t, i) => {
    const values = decodeValues(t);
    const data = t.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
    return tensor(data, { shape: t.shape, requiresGrad: requiresGrad(i) });
  });
  const result = OP_CASES[c.op]!(inputs, c.attrs);
  return Array.isArray(result) ? result : [result];
}

/** Every op on the tape behind `roots`. */
function opsOnTape(roots: readonly Tensor[]): Set<OpName> {
  const found = new Set<OpName>();
  const seen = new Set<Tensor>();
  const stack = [...roots];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (!t.node) continue;
    found.add(t.node.op);
    stack.push(...t.node.inputs);
  }
  return found;
}

/**
 * The tape skips ops marked 'not-differentiable'. To see them too, each gets a stand-in rule for
 * the duration of `fn` (no backward runs), and the table is restored afterwards.
 */
function recordingEveryOp<T>(fn: () => T): T {
  const table = gradients as Record<OpName, GradientTable[OpName]>;
  const skipped = primitives.filter((op) => table[op] === 'not-differentiable');
  for (const op of skipped) table[op] = () => [];
  try {
    return fn();
  } finally {
    for (const op of skipped) table[op] = 'not-differentiable';
  }
}

describe('op golden coverage', () => {
  it('has a runner for every golden op, and a golden for every runner and tolerance', () => {
    const goldenOps = new Set(goldens.cases.map((c) => c.op));
    expect([...goldenOps].filter((op) => !OP_CASES[op])).toEqual([]);
    expect(Object.keys(OP_CASES).filter((op) => !goldenOps.has(op))).toEqual([]);
    expect(Object.keys(TOLERANCES).filter((op) => !goldenOps.has(op))).toEqual([]);
  });

  it('has a golden for every public op', () => {
    const goldenOps = new Set(goldens.cases.map((c) => c.op));
    const publicOps = Object.entries(ops).flatMap(([name, value]) => (typeof value === 'function' && !NOT_OPS.has(name) ? [name] : []));
    expect(publicOps.filter((op) => !goldenOps.has(op))).toEqual([]);
  });

  it('runs every primitive of the gradient table forward', () => {
    const seen = recordingEveryOp(() => {
      const found = new Set<OpName>();
      for (const c of goldens.cases) for (const op of opsOnTape(run(c, () => true))) found.add(op);
      return found;
    });
    expect(primitives.filter((op) => !seen.has(op))).toEqual([]);
  });

  it('checks the gradient of every differentiable primitive', () => {
    const seen = new Set<OpName>();
    for (const c of goldens.cases) {
      if (!c.grads.some((g) => g !== null)) continue;
      const outputs = run(c, (i) => c.grads[i] != null);
      for (const op of opsOnTape(outputs.filter((_, i) => c.cotangents[i]))) seen.add(op);
    }
    expect(differentiable.filter((op) => !seen.has(op))).toEqual([]);
  });
});
