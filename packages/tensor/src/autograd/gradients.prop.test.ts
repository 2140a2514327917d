import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Generator,
  type OpName,
  type Tensor,
  abs,
  add,
  cast,
  clamp,
  concat,
  contiguous,
  crossEntropy,
  cumsum,
  div,
  einsum,
  embedding,
  erf,
  exp,
  expand,
  flip,
  gather,
  gelu,
  gradients,
  indexAdd,
  indexSelect,
  layerNorm,
  log,
  logSoftmax,
  logsumexp,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  noGrad,
  norm,
  pad,
  permute,
  pow,
  relu,
  reshape,
  rmsNorm,
  rsqrt,
  scatterAdd,
  sigmoid,
  sign,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  tanh,
  tensor,
  topk,
  transpose,
  variance,
  where,
} from '../index.ts';

/*
 * Every differentiable primitive of the gradient table, checked against central finite differences
 * on random shapes: 0-d scalars, size-1 dimensions that broadcast, and empty dimensions. Input
 * domains keep each op smooth near the sample: positive bases for log/sqrt/rsqrt/pow, values kept
 * away from the kinks of relu/abs/sign/clamp and from ties of max/min/maximum/minimum/topk.
 *
 * The finite-difference check is written out here rather than imported from @glassbox/testing,
 * which itself depends on this package.
 */

/** Runs per property; raise GLASSBOX_PROP_RUNS for a deeper local search. */
const NUM_RUNS = Number(process.env.GLASSBOX_PROP_RUNS ?? 50);

// ---------------------------------------------------------------------------------------------
// Finite differences.

/**
 * The engine computes in float32 (u ≈ 6e-8). A central difference with step h (here relative to
 * max(1, |x|)) has truncation error ~h²·|f'''|/6 and rounding error ~u·|f|/h; at h = 1e-2 both sit
 * well below rtol = 1e-2 and atol = 1e-3, which still catch any rule off by a factor, a sign or a term.
 */
const EPS = 1e-2;
const RTOL = 1e-2;
const ATOL = 1e-3;

interface GradCase {
  readonly label: string;
  readonly fn: (...xs: Tensor[]) => Tensor;
  /** float32 inputs are checked; int32 inputs (indices, masks, targets) pass through. */
  readonly inputs: readonly Tensor[];
}

function show(t: Tensor): string {
  return `tensor([${Array.from(t.data()).join(', ')}], { shape: [${t.shape.join(', ')}], dtype: '${t.dtype}' })`;
}

function gradCase(label: string, fn: GradCase['fn'], inputs: readonly Tensor[]): GradCase {
  return { label, fn, inputs, [fc.toStringMethod]: () => `${label} with ${inputs.map(show).join(', ')}` } as GradCase;
}

/** Every op recorded on the tape that produced `root`. */
function tapeOps(root: Tensor): Set<OpName> {
  const ops = new Set<OpName>();
  const visited = new Set<Tensor>();
  const stack = [root];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (visited.has(t)) continue;
    visited.add(t);
    if (t.node) {
      ops.add(t.node.op);
      stack.push(...t.node.inputs);
    }
  }
  return ops;
}

/**
 * Backward of sum(fn(...) · c) for a fixed random cotangent c, against Σ c·(f(x+h) − f(x−h)) / (2h)
 * per element, in float64 on float32 evaluations under noGrad. Returns the ops on the tape.
 */
function checkGradients({ fn, inputs }: GradCase, seed: number): Set<OpName> {
  const values = inputs.map((t) => Float32Array.from(t.data()));
  const checked = inputs.flatMap((t, i) => (t.dtype === 'float32' ? [i] : []));
  const build = (i: number, requiresGrad: boolean): Tensor => {
    const t = inputs[i]!;
    return t.dtype === 'float32' ? tensor(Float32Array.from(values[i]!), { shape: t.shape, requiresGrad }) : t;
  };
  const leaves = inputs.map((_, i) => build(i, true));
  const out = fn(...leaves);
  const ops = tapeOps(out);
  const g = Generator.fromSeed(seed);
  const cot = Float32Array.from({ length: out.size }, () => (g.uniform() < 0.5 ? -1 : 1) * (0.5 + g.uniform()));
  if (out.requiresGrad) out.backward(tensor(cot, { shape: out.shape }));
  const evaluate = () => noGrad(() => fn(...inputs.map((_, i) => build(i, false))).data());
  for (const i of checked) {
    const x = values[i]!;
    const analytic = leaves[i]!.grad?.data() ?? new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const x0 = x[j]!;
      const h = EPS * Math.max(1, Math.abs(x0));
      const xPlus = Math.fround(x0 + h);
      const xMinus = Math.fround(x0 - h);
      x[j] = xPlus;
      const fPlus = evaluate();
      x[j] = xMinus;
      const fMinus = evaluate();
      x[j] = x0;
      let dot = 0;
      for (let k = 0; k < cot.length; k++) dot += cot[k]! * (fPlus[k]! - fMinus[k]!);
      const numeric = dot / (xPlus - xMinus);
      const a = analytic[j]!;
      const ok = Number.isNaN(numeric) ? Number.isNaN(a) : Math.abs(a - numeric) <= ATOL + RTOL * Math.abs(numeric);
      if (!ok) {
        throw new Error(`gradient of input ${i} [${inputs[i]!.shape.join(', ')}] at element ${j}: analytic ${a}, numeric ${numeric}`);
      }
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries.

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  maxDim?: number;
  /** Lets dimensions be 0. */
  empty?: boolean;
}

/** Mostly 1..maxDim with extra weight on 1, and 0 now and then. */
function dimArb({ maxDim = 3, empty = true }: ShapeOptions = {}): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.constant(1), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: maxDim }), weight: 5 },
    { arbitrary: fc.constant(0), weight: empty ? 1 : 0 },
  );
}

function shapeArb(options: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 3 } = options;
  return fc.array(dimArb(options), { minLength: minRank, maxLength: maxRank });
}

/** An operand that broadcasts to `full`: some leading axes dropped, some dimensions set to 1. */
function operandShapeArb(full: readonly number[]): fc.Arbitrary<number[]> {
  return fc
    .tuple(fc.integer({ min: 0, max: full.length }), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }))
    .map(([drop, ones]) => full.slice(drop).map((d, i) => (ones[drop + i] ? 1 : d)));
}

/** `n` shapes that broadcast together. */
function broadcastArb(n: number, options: ShapeOptions = {}): fc.Arbitrary<number[][]> {
  return shapeArb(options).chain((full) => fc.array(operandShapeArb(full), { minLength: n, maxLength: n }));
}

interface ValueOptions {
  min?: number;
  max?: number;
  /** Points every value keeps `margin` away from. */
  avoid?: readonly number[];
  margin?: number;
  /** All values at least 0.1 apart, so no perturbation can reorder two of them. */
  distinct?: boolean;
}

function valuesArb(size: number, { min = -3, max = 3, avoid = [], margin = 0.1, distinct = false }: ValueOptions = {}): fc.Arbitrary<Float32Array> {
  let intervals: Array<readonly [number, number]> = [[min, max]];
  for (const p of avoid) {
    intervals = intervals.flatMap(([lo, hi]) => {
      const pieces: Array<readonly [number, number]> = [
        [lo, Math.min(hi, p - margin)],
        [Math.max(lo, p + margin), hi],
      ];
      return pieces.filter(([a, b]) => b > a);
    });
  }
  const total = intervals.reduce((s, [lo, hi]) => s + hi - lo, 0);
  const place = (u: number) => {
    let s = u * total;
    for (const [lo, hi] of intervals) {
      if (s <= hi - lo) return lo + s;
      s -= hi - lo;
    }
    return intervals[intervals.length - 1]![1];
  };
  if (size === 0) return fc.constant(null).map(() => new Float32Array(0));
  if (!distinct) return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: size, maxLength: size }).map((us) => Float32Array.from(us, place));
  const cells = Math.floor(total / 0.2);
  if (cells < size) throw new RangeError(`${size} distinct values do not fit in [${min}, ${max}]`);
  return fc
    .tuple(fc.shuffledSubarray(range(cells), { minLength: size, maxLength: size }), fc.array(fc.integer({ min: -25, max: 25 }), { minLength: size, maxLength: size }))
    .map(([picked, jitter]) => Float32Array.from(picked, (cell, i) => place((cell + 0.5 + jitter[i]! / 100) / cells)));
}

function floatArb(shape: readonly number[], options: ValueOptions = {}): fc.Arbitrary<Tensor> {
  return valuesArb(sizeOf(shape), options).map((data) => tensor(data, { shape }));
}

/** int32 tensor with entries in [0, high). */
function indexArb(shape: readonly number[], high: number): fc.Arbitrary<Tensor> {
  const size = sizeOf(shape);
  return fc.array(fc.integer({ min: 0, max: Math.max(0, high - 1) }), { minLength: size, maxLength: size }).map((ids) => tensor(Int32Array.from(ids), { shape }));
}

/** An axis of a tensor of `rank`, written positive or negative (0-d tensors accept 0 and -1). */
function axisArb(rank: number): fc.Arbitrary<number> {
  const r = Math.max(rank, 1);
  return fc.integer({ min: -r, max: r - 1 });
}

/** A subset of `allowed` axes, each written positive or negative; or undefined (every axis) when all are allowed. */
function axesArb(rank: number, allowed: readonly number[] = range(rank)): fc.Arbitrary<number[] | undefined> {
  const subset = fc
    .subarray([...allowed])
    .chain((axes) => fc.array(fc.boolean(), { minLength: axes.length, maxLength: axes.length }).map((negative) => axes.map((a, i) => (negative[i] ? a - rank : a))));
  return allowed.length === rank ? fc.oneof(fc.constant(undefined), subset) : subset;
}

const fmt = (value: unknown) => JSON.stringify(value) ?? 'undefined';

// ---------------------------------------------------------------------------------------------
// One property per differentiable primitive.

type CaseArb = () => fc.Arbitrary<GradCase>;

function unary(name: string, op: (x: Tensor) => Tensor, values: ValueOptions = {}): CaseArb {
  return () => shapeArb().chain((s) => floatArb(s, values).map((x) => gradCase(`${name}(x)`, op, [x])));
}

function binary(name: string, op: (a: Tensor, b: Tensor) => Tensor, a: ValueOptions = {}, b: ValueOptions = a): CaseArb {
  return () =>
    broadcastArb(2).chain(([sa, sb]) => fc.tuple(floatArb(sa!, a), floatArb(sb!, b)).map(([x, y]) => gradCase(`${name}(a, b)`, op, [x, y])));
}

/** a and b drawn jointly distinct, so no broadcast pair of them is tied. */
function pick(name: string, op: (a: Tensor, b: Tensor) => Tensor): CaseArb {
  return () =>
    broadcastArb(2).chain(([sa, sb]) =>
      valuesArb(sizeOf(sa!) + sizeOf(sb!), { min: -6, max: 6, distinct: true }).map((v) =>
        gradCase(`${name}(a, b)`, op, [tensor(v.slice(0, sizeOf(sa!)), { shape: sa! }), tensor(v.slice(sizeOf(sa!)), { shape: sb! })]),
      ),
    );
}

function reduction(name: 'max' | 'min', op: typeof max): CaseArb {
  return () =>
    shapeArb().chain((s) => {
      const nonEmpty = range(s.length).filter((a) => s[a]! > 0);
      return fc.tuple(floatArb(s, { min: -6, max: 6, distinct: true }), axesArb(s.length, nonEmpty), fc.boolean()).map(([x, axes, keepDim]) =>
        gradCase(`${name}(x, ${fmt(axes)}, ${keepDim})`, (t) => op(t, axes, keepDim), [x]),
      );
    });
}

function softmaxLike(name: string, op: typeof softmax): CaseArb {
  return () =>
    shapeArb().chain((s) => fc.tuple(floatArb(s), axisArb(s.length)).map(([x, axis]) => gradCase(`${name}(x, ${axis})`, (t) => op(t, axis), [x])));
}

const INTEGERS = [-3, -2, -1, 0, 1, 2, 3];

const properties: Partial<Record<OpName, CaseArb>> = {
  neg: unary('neg', neg),
  exp: unary('exp', exp),
  log: unary('log', log, { min: 0.25, max: 4 }),
  sqrt: unary('sqrt', sqrt, { min: 0.25, max: 4 }),
  rsqrt: unary('rsqrt', rsqrt, { min: 0.25, max: 4 }),
  tanh: unary('tanh', tanh),
  sigmoid: unary('sigmoid', sigmoid),
  relu: unary('relu', relu, { avoid: [0] }),
  erf: unary('erf', erf),
  gelu: unary('gelu', (x) => gelu(x)),
  geluTanh: unary("gelu(x, 'tanh')", (x) => gelu(x, 'tanh')),
  abs: unary('abs', abs, { avoid: [0] }),
  // sign is flat: the x term checks that its zero gradient adds nothing.
  sign: unary('sign(x) + x', (x) => add(sign(x), x), { avoid: [0] }),
  add: binary('add', add),
  sub: binary('sub', sub),
  mul: binary('mul', mul),
  div: binary('div', div, {}, { avoid: [0], margin: 0.5 }),
  pow: () =>
    fc.oneof(
      binary('pow', pow, { min: 0.5, max: 2.5 }, { min: -2, max: 2 })(),
      shapeArb().chain((s) =>
        fc.tuple(floatArb(s, { min: 0.5, max: 2.5 }), fc.constantFrom(-1.5, 0, 0.5, 2, 3)).map(([x, e]) => gradCase(`pow(x, ${e})`, (t) => pow(t, e), [x])),
      ),
    ),
  maximum: pick('maximum', maximum),
  minimum: pick('minimum', minimum),
  where: () =>
    broadcastArb(3).chain(([sc, sa, sb]) =>
      fc.tuple(indexArb(sc!, 2), floatArb(sa!), floatArb(sb!)).map(([c, a, b]) => gradCase('where(cond, a, b)', (x, y, m) => where(m!, x!, y!), [a, b, c])),
    ),
  clamp: () =>
    fc
      .tuple(shapeArb(), fc.integer({ min: -4, max: 1 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom('both', 'min', 'max'))
      .chain(([s, lo2, width2, bounds]) => {
        const lo = bounds === 'max' ? Number.NEGATIVE_INFINITY : lo2 / 2;
        const hi = bounds === 'min' ? Number.POSITIVE_INFINITY : lo2 / 2 + width2 / 2;
        return floatArb(s, { avoid: [lo, hi].filter(Number.isFinite) }).map((x) => gradCase(`clamp(x, ${lo}, ${hi})`, (t) => clamp(t, lo, hi), [x]));
      }),
  sum: () =>
    shapeArb({ maxRank: 4 }).chain((s) =>
      fc.tuple(floatArb(s), axesArb(s.length), fc.boolean()).map(([x, axes, keepDim]) => gradCase(`sum(x, ${fmt(axes)}, ${keepDim})`, (t) => sum(t, axes, keepDim), [x])),
    ),
  max: reduction('max', max),
  min: reduction('min', min),
  cumsum: () => shapeArb().chain((s) => fc.tuple(floatArb(s), axisArb(s.length)).map(([x, axis]) => gradCase(`cumsum(x, ${axis})`, (t) => cumsum(t, axis), [x]))),
  softmax: softmaxLike('softmax', softmax),
  logSoftmax: softmaxLike('logSoftmax', logSoftmax),
  matmul: () =>
    fc
      .tuple(broadcastArb(2, { maxRank: 2 }), dimArb(), dimArb(), dimArb(), fc.boolean(), fc.boolean())
      .chain(([[batchA, batchB], m, k, n, vecA, vecB]) => {
        const sa = vecA ? [k] : [...batchA!, m, k];
        const sb = vecB ? [k] : [...batchB!, k, n];
        return fc.tuple(floatArb(sa, { min: -2, max: 2 }), floatArb(sb, { min: -2, max: 2 })).map(([a, b]) => gradCase('matmul(a, b)', matmul, [a, b]));
      }),
  reshape: () =>
    shapeArb({ maxRank: 4 }).chain((s) =>
      fc.tuple(floatArb(s), fc.constantFrom('flat', 'reversed', 'padded', 'inferred', 'transposed')).map(([x, how]) => {
        const target = how === 'flat' ? [sizeOf(s)] : how === 'reversed' ? [...s].reverse() : how === 'padded' ? [1, ...s, 1] : s.length > 0 ? [-1, s[s.length - 1]!] : [-1];
        // Reshaping a transposed view copies first (a contiguous op) and then reshapes.
        const fn = how === 'transposed' && s.length >= 2 ? (t: Tensor) => reshape(transpose(t), [-1]) : (t: Tensor) => reshape(t, target);
        return gradCase(`reshape(x, ${how})`, fn, [x]);
      }),
    ),
  permute: () =>
    shapeArb({ maxRank: 4 }).chain((s) =>
      fc
        .tuple(floatArb(s), fc.shuffledSubarray(range(s.length), { minLength: s.length, maxLength: s.length }))
        .map(([x, order]) => gradCase(`permute(x, ${fmt(order)})`, (t) => permute(t, order), [x])),
    ),
  expand: () =>
    shapeArb({ maxRank: 4 }).chain((full) =>
      operandShapeArb(full).chain((s) => floatArb(s).map((x) => gradCase(`expand(x, ${fmt(full)})`, (t) => expand(t, full), [x]))),
    ),
  slice: () =>
    shapeArb({ minRank: 1 }).chain((s) => {
      const bound = fc.option(fc.integer({ min: -4, max: 4 }), { nil: null });
      const rangeArb = fc.option(fc.tuple(bound, bound, fc.integer({ min: 1, max: 3 })), { nil: null });
      return fc
        .tuple(floatArb(s), fc.array(rangeArb, { maxLength: s.length }))
        .map(([x, ranges]) => gradCase(`slice(x, ${fmt(ranges)})`, (t) => slice(t, ranges), [x]));
    }),
  flip: () => shapeArb().chain((s) => fc.tuple(floatArb(s), axesArb(s.length)).map(([x, axes]) => gradCase(`flip(x, ${fmt(axes)})`, (t) => flip(t, axes ?? []), [x]))),
  contiguous: () =>
    shapeArb({ minRank: 2 }).chain((s) =>
      fc.tuple(floatArb(s), fc.constantFrom('transpose', 'flip', 'stepped', 'expanded')).map(([x, how]) => {
        const view = (t: Tensor) =>
          how === 'transpose' ? transpose(t) : how === 'flip' ? flip(t, 0) : how === 'stepped' ? slice(t, [[null, null, 2]]) : expand(t, [2, ...t.shape]);
        return gradCase(`contiguous(${how}(x))`, (t) => contiguous(view(t)), [x]);
      }),
    ),
  concat: () =>
    shapeArb({ minRank: 1 }).chain((s) =>
      axisArb(s.length).chain((axis) => {
        const a = axis < 0 ? axis + s.length : axis;
        return fc.array(dimArb(), { minLength: 1, maxLength: 3 }).chain((lengths) =>
          fc
            .tuple(...lengths.map((d) => floatArb(s.map((size, i) => (i === a ? d : size)))))
            .map((xs) => gradCase(`concat(xs, ${axis})`, (...ts) => concat(ts, axis), xs)),
        );
      }),
    ),
  pad: () =>
    shapeArb().chain((s) =>
      fc
        .tuple(
          floatArb(s),
          fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { maxLength: s.length }),
          fc.constantFrom(0, -1, 2.5),
        )
        .map(([x, pads, value]) => gradCase(`pad(x, ${fmt(pads)}, ${value})`, (t) => pad(t, pads, value), [x])),
    ),
  gather: () =>
    shapeArb({ empty: false }).chain((s) =>
      axisArb(s.length).chain((axis) => {
        const a = axis < 0 ? axis + Math.max(s.length, 1) : axis;
        const indexShape = fc.tuple(...s.map((d, i) => (i === a ? dimArb() : fc.integer({ min: 0, max: d }))));
        return indexShape.chain((is) =>
          fc.tuple(floatArb(s), indexArb(is, s[a] ?? 1)).map(([x, index]) => gradCase(`gather(x, ${axis}, index)`, (t, i) => gather(t, axis, i!), [x, index])),
        );
      }),
    ),
  // src may be larger than index; only its leading index-shaped block is scattered.
  scatterAdd: () =>
    shapeArb({ empty: false }).chain((s) =>
      axisArb(s.length).chain((axis) => {
        const a = axis < 0 ? axis + Math.max(s.length, 1) : axis;
        const indexShape = fc.tuple(...s.map((d, i) => (i === a ? dimArb() : fc.integer({ min: 0, max: d }))));
        return fc.tuple(indexShape, fc.array(fc.integer({ min: 0, max: 1 }), { minLength: s.length, maxLength: s.length })).chain(([is, extra]) =>
          fc
            .tuple(floatArb(s), indexArb(is, s[a] ?? 1), floatArb(is.map((d, i) => d + extra[i]!)))
            .map(([base, index, src]) => gradCase(`scatterAdd(base, ${axis}, index, src)`, (b, i, v) => scatterAdd(b, axis, i!, v!), [base, index, src])),
        );
      }),
    ),
  indexSelect: () =>
    shapeArb({ minRank: 1 }).chain((s) =>
      axisArb(s.length).chain((axis) => {
        const a = axis < 0 ? axis + s.length : axis;
        const x = floatArb(s.map((d, i) => (i === a ? Math.max(d, 1) : d)));
        return fc
          .tuple(x, fc.integer({ min: 0, max: 4 }))
          .chain(([t, picks]) => indexArb([picks], t.shape[a]!).map((index) => gradCase(`indexSelect(x, ${axis}, index)`, (u, i) => indexSelect(u, axis, i!), [t, index])));
      }),
    ),
  indexAdd: () =>
    shapeArb({ minRank: 1 }).chain((s) =>
      fc.tuple(axisArb(s.length), fc.integer({ min: 0, max: 4 })).chain(([axis, picks]) => {
        const a = axis < 0 ? axis + s.length : axis;
        const baseShape = s.map((d, i) => (i === a ? Math.max(d, 1) : d));
        return fc
          .tuple(floatArb(baseShape), indexArb([picks], baseShape[a]!), floatArb(baseShape.map((d, i) => (i === a ? picks : d))))
          .map(([base, index, src]) => gradCase(`indexAdd(base, ${axis}, index, src)`, (b, i, v) => indexAdd(b, axis, i!, v!), [base, index, src]));
      }),
    ),
  layerNorm: () =>
    fc.tuple(shapeArb({ maxRank: 2 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean()).chain(([lead, d, hasWeight, hasBias]) => {
      const shape = [...lead, d];
      // A ramp along the normalised axis keeps every row's spread (so 1/std) moderate.
      const x = valuesArb(sizeOf(shape), { min: -0.3, max: 0.3 }).map((v) => tensor(v.map((e, i) => e + (i % d)), { shape }));
      return fc.tuple(x, floatArb([d], { min: -2, max: 2 }), floatArb([d], { min: -2, max: 2 })).map(([t, w, b]) => {
        const inputs = [t, ...(hasWeight ? [w] : []), ...(hasBias ? [b] : [])];
        const fn = (u: Tensor, ...rest: Tensor[]) => layerNorm(u, hasWeight ? rest[0] : undefined, hasBias ? rest[hasWeight ? 1 : 0] : undefined);
        return gradCase(`layerNorm(x${hasWeight ? ', weight' : ''}${hasBias ? ', bias' : ''})`, fn, inputs);
      });
    }),
  rmsNorm: () =>
    fc.tuple(shapeArb({ maxRank: 2 }), fc.integer({ min: 1, max: 4 }), fc.boolean()).chain(([lead, d, hasWeight]) =>
      fc.tuple(floatArb([...lead, d], { avoid: [0], margin: 0.5 }), floatArb([d], { min: -2, max: 2 })).map(([x, w]) =>
        gradCase(`rmsNorm(x${hasWeight ? ', weight' : ''})`, (u, weight) => rmsNorm(u, weight), hasWeight ? [x, w] : [x]),
      ),
    ),
  crossEntropy: () =>
    fc
      .tuple(shapeArb({ maxRank: 2 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(-100, 0), fc.constantFrom('none' as const, 'sum' as const, 'mean' as const))
      .chain(([lead, classes, ignoreIndex, reduction]) =>
        fc
          .tuple(
            floatArb([...lead, classes]),
            fc.array(fc.integer({ min: -1, max: classes - 1 }), { minLength: sizeOf(lead), maxLength: sizeOf(lead) }),
          )
          .map(([logits, picks]) => {
            const ids = picks.map((p) => (p < 0 ? ignoreIndex : p));
            // A mean over no kept targets is NaN by definition; sum those instead.
            const kept = ids.some((t) => t !== ignoreIndex);
            const r = reduction === 'mean' && !kept ? 'sum' : reduction;
            const targets = tensor(Int32Array.from(ids), { shape: lead });
            return gradCase(`crossEntropy(logits, targets, { ignoreIndex: ${ignoreIndex}, reduction: '${r}' })`, (l, t) => crossEntropy(l, t!, { ignoreIndex, reduction: r }), [logits, targets]);
          }),
      ),
};

/**
 * Runs a case with some float inputs flipped on every axis first: the op then reads a strided view
 * (negative strides, an offset) and its gradient flows back through one, with the same shapes and
 * the same set of values, so every domain constraint still holds.
 */
function runProperty(arb: fc.Arbitrary<GradCase>, onTape: (ops: Set<OpName>) => void = () => {}, numRuns = NUM_RUNS): void {
  fc.assert(
    fc.property(arb, fc.nat(), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (c, seed, flipped) => {
      const fn = (...xs: Tensor[]) => c.fn(...xs.map((t, i) => (t.dtype === 'float32' && flipped[i] ? flip(t, range(t.rank)) : t)));
      onTape(checkGradients({ ...c, fn }, seed));
    }),
    { numRuns },
  );
}

const differentiable = (Object.keys(gradients) as OpName[]).filter((op) => gradients[op] !== 'not-differentiable');

describe('gradient table against finite differences', () => {
  it('has a property for every differentiable op, and none for the others', () => {
    expect(Object.keys(properties).sort()).toEqual([...differentiable].sort());
  });

  for (const op of differentiable) {
    it(op, () => {
      const build = properties[op];
      expect(build, `no gradient property for '${op}'`).toBeDefined();
      let recorded = 0;
      runProperty(build!(), (ops) => {
        if (ops.has(op)) recorded++;
      });
      // The property must exercise the op, not only ops around it.
      expect(recorded, `'${op}' never appeared on the tape`).toBeGreaterThan(0);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Composed ops: their gradients come from the primitives' rules.

const EINSUM_EQUATIONS = [
  'ij,jk->ik',
  'bij,bjk->bik',
  'bqhd,bkhd->bhqk',
  'i,i->',
  'i,j->ij',
  'ij,kj->ik',
  'ij,ij->i',
  'ij,jk->k',
  'bi,i->b',
  'abc,cd->abd',
  'ij->ji',
  'ijk->kj',
  'ij->',
];

const composed: Record<string, CaseArb> = {
  // cast is off the tape: float → int32 → float is flat, and an int32 input carries no gradient.
  cast: () =>
    shapeArb().chain((s) =>
      fc
        .tuple(floatArb(s, { avoid: INTEGERS }), indexArb(s, 4))
        .map(([x, i]) => gradCase("cast(cast(x, 'int32'), 'float32') · x + cast(i, 'float32') · x", (t, ids) => add(mul(cast(cast(t, 'int32'), 'float32'), t), mul(cast(ids!, 'float32'), t)), [x, i])),
    ),
  mean: () =>
    shapeArb({ maxRank: 4 }).chain((s) =>
      fc.tuple(floatArb(s), axesArb(s.length), fc.boolean()).map(([x, axes, keepDim]) => gradCase(`mean(x, ${fmt(axes)}, ${keepDim})`, (t) => mean(t, axes, keepDim), [x])),
    ),
  variance: () =>
    shapeArb({ maxRank: 3 }).chain((s) =>
      fc.tuple(floatArb(s), axesArb(s.length), fc.constantFrom(0, 1), fc.boolean()).map(([x, axes, correction, keepDim]) => {
        // Dividing by count − correction <= 0 gives Inf; keep to axes with enough elements.
        const count = sizeOf((axes ?? range(s.length)).map((a) => s[a < 0 ? a + s.length : a]!));
        const c = count - correction > 0 ? correction : 0;
        return gradCase(`variance(x, ${fmt(axes)}, { correction: ${c}, keepDim: ${keepDim} })`, (t) => variance(t, axes, { correction: c, keepDim }), [x]);
      }),
    ),
  logsumexp: () =>
    shapeArb().chain((s) => {
      const nonEmpty = range(s.length).filter((a) => s[a]! > 0);
      return fc
        .tuple(floatArb(s, { min: -4, max: 4 }), axesArb(s.length, nonEmpty), fc.boolean())
        .map(([x, axes, keepDim]) => gradCase(`logsumexp(x, ${fmt(axes)}, ${keepDim})`, (t) => logsumexp(t, axes, keepDim), [x]));
    }),
  norm: () =>
    shapeArb().chain((s) =>
      fc.tuple(fc.constantFrom(1 as const, 2 as const, Number.POSITIVE_INFINITY), axesArb(s.length, range(s.length).filter((a) => s[a]! > 0)), fc.boolean()).chain(([p, axes, keepDim]) => {
        // The ∞-norm picks the largest |x|: distinct magnitudes, random signs.
        const x =
          p === Number.POSITIVE_INFINITY
            ? fc
                .tuple(valuesArb(sizeOf(s), { min: 0.2, max: 6, distinct: true }), fc.array(fc.boolean(), { minLength: sizeOf(s), maxLength: sizeOf(s) }))
                .map(([v, negative]) => tensor(v.map((e, i) => (negative[i] ? -e : e)), { shape: s }))
            : floatArb(s, { avoid: [0], margin: 0.3 });
        return x.map((t) => gradCase(`norm(x, ${p}, ${fmt(axes)}, ${keepDim})`, (u) => norm(u, p, axes, keepDim), [t]));
      }),
    ),
  einsum: () =>
    fc.constantFrom(...EINSUM_EQUATIONS).chain((equation) => {
      const specs = equation.split('->')[0]!.split(',');
      const letters = [...new Set(specs.join(''))];
      return fc.tuple(fc.array(dimArb(), { minLength: letters.length, maxLength: letters.length }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })).chain(([sizes, ones]) => {
        // A letter shared by two operands may be 1 in one of them and broadcast.
        const shapes = specs.map((spec, o) => [...spec].map((c, j) => (specs.length === 2 && specs[1 - o]!.includes(c) && ones[o * 4 + j] ? 1 : sizes[letters.indexOf(c)]!)));
        return fc.tuple(...shapes.map((s) => floatArb(s, { min: -2, max: 2 }))).map((xs) => gradCase(`einsum('${equation}')`, (...ts) => einsum(equation, ...ts), xs));
      });
    }),
  embedding: () =>
    fc.tuple(fc.integer({ min: 1, max: 4 }), dimArb(), shapeArb({ maxRank: 2 })).chain(([vocab, d, idsShape]) =>
      fc.tuple(floatArb([vocab, d]), indexArb(idsShape, vocab)).map(([w, ids]) => gradCase('embedding(weight, ids)', (u, i) => embedding(u, i!), [w, ids])),
    ),
  topk: () =>
    shapeArb({ minRank: 1 }).chain((s) =>
      fc.tuple(floatArb(s, { min: -6, max: 6, distinct: true }), axisArb(s.length), fc.boolean()).chain(([x, axis, largest]) =>
        fc
          .integer({ min: 0, max: s[axis < 0 ? axis + s.length : axis]! })
          .map((k) => gradCase(`topk(x, ${k}, { axis: ${axis}, largest: ${largest} }).values`, (t) => topk(t, k, { axis, largest }).values, [x])),
      ),
    ),
  // One tensor used several times: backward must add up every path's gradient.
  'fan-out': () =>
    shapeArb().chain((s) =>
      floatArb(s, { min: -2, max: 2 }).map((x) =>
        gradCase('y = tanh(x); (x + exp(x)) · x + y · sum(y)', (t) => {
          const y = tanh(t);
          return add(mul(add(t, exp(t)), t), mul(y, sum(y)));
        }, [x]),
      ),
    ),
  'crossEntropy (mean, ignoreIndex)': () =>
    fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 4 })).chain(([rows, classes]) =>
      fc
        .tuple(floatArb([rows, classes]), fc.array(fc.integer({ min: -1, max: classes - 1 }), { minLength: rows, maxLength: rows }), fc.nat({ max: rows - 1 }))
        .map(([logits, picks, keep]) => {
          // -1 is the ignored target; at least one row is kept so the mean is defined.
          const ids = picks.map((p, i) => (i === keep ? Math.max(p, 0) : p));
          return gradCase('crossEntropy(logits, targets, { ignoreIndex: -1 })', (l, t) => crossEntropy(l, t!, { ignoreIndex: -1 }), [
            logits,
            tensor(Int32Array.from(ids), { shape: [rows] }),
          ]);
        }),
    ),
};

describe('composed ops against finite differences', () => {
  for (const [name, build] of Object.entries(composed)) {
    it(name, () => runProperty(build()));
  }
});
