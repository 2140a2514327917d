import { readFileSync } from 'node:fs';
import {
  type DType,
  type SliceRange,
  type Tensor,
  type TensorLike,
  abs,
  add,
  argmax,
  argmin,
  cast,
  clamp,
  concat,
  contiguous,
  crossEntropy,
  cumsum,
  div,
  einsum,
  embedding,
  eq,
  erf,
  exp,
  expand,
  flatten,
  flip,
  gather,
  ge,
  gelu,
  gt,
  indexAdd,
  indexSelect,
  layerNorm,
  le,
  log,
  logSoftmax,
  logsumexp,
  lt,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  narrow,
  ne,
  neg,
  norm,
  oneHot,
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
  split,
  sqrt,
  square,
  squeeze,
  stack,
  sub,
  sum,
  tanh,
  topk,
  transpose,
  tril,
  triu,
  unsqueeze,
  variance,
  where,
} from '../index.ts';

/** A tensor as scripts/op_goldens.py writes it: row-major data, non-finite values as strings. */
export interface GoldenTensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: ReadonlyArray<number | 'NaN' | 'Infinity' | '-Infinity'>;
}

/** Attributes in the names of our API; each op reads the few it takes. */
export interface CaseAttrs {
  /** A plain number in place of the first (lhs) or second (rhs) operand. */
  readonly lhs?: number;
  readonly rhs?: number;
  readonly approximate?: 'none' | 'tanh';
  readonly min?: number;
  readonly max?: number;
  readonly dtype?: DType;
  readonly axes?: number | readonly number[];
  readonly axis?: number;
  readonly keepDim?: boolean;
  readonly correction?: number;
  readonly p?: 1 | 2 | 'inf';
  readonly equation?: string;
  readonly shape?: readonly number[];
  /** reshape: transpose the last two axes first, so the reshape must copy. */
  readonly transposeFirst?: boolean;
  readonly order?: readonly number[];
  readonly axis0?: number;
  readonly axis1?: number;
  readonly startAxis?: number;
  readonly endAxis?: number;
  readonly ranges?: readonly SliceRange[];
  readonly start?: number;
  readonly length?: number;
  readonly sizes?: number | readonly number[];
  readonly pads?: ReadonlyArray<readonly [number, number]>;
  readonly value?: number;
  readonly numClasses?: number;
  readonly diagonal?: number;
  readonly k?: number;
  readonly largest?: boolean;
  readonly eps?: number;
  readonly hasWeight?: boolean;
  readonly hasBias?: boolean;
  readonly ignoreIndex?: number;
  readonly reduction?: 'mean' | 'sum' | 'none';
}

/**
 * One golden case. `grads[i]` is d(sum(outputs · cotangents))/d(inputs[i]), null for an input
 * PyTorch does not differentiate (integers, or every output an integer).
 */
export interface GoldenCase {
  readonly name: string;
  readonly op: string;
  readonly attrs: CaseAttrs;
  readonly inputs: readonly GoldenTensor[];
  readonly outputs: readonly GoldenTensor[];
  readonly cotangents: ReadonlyArray<GoldenTensor | null>;
  readonly grads: ReadonlyArray<GoldenTensor | null>;
}

export interface GoldenFile {
  readonly generator: string;
  readonly torch: string;
  readonly precision: string;
  readonly cases: readonly GoldenCase[];
}

/** The goldens written by scripts/op_goldens.py. */
export function loadGoldens(): GoldenFile {
  return JSON.parse(readFileSync(new URL('../fixtures/op-goldens.json', import.meta.url), 'utf8')) as GoldenFile;
}

export function decodeValues(t: GoldenTensor): number[] {
  return t.data.map((v) => (typeof v === 'number' ? v : v === 'NaN' ? Number.NaN : v === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY));
}

/** Runs one op on tensors built from a case's inputs; several outputs come back as an array. */
export type OpRunner = (inputs: readonly Tensor[], attrs: CaseAttrs) => Tensor | Tensor[];

function binary(f: (a: TensorLike, b: TensorLike) => Tensor): OpRunner {
  return (xs, a) => (a.lhs !== undefined ? f(a.lhs, xs[0]!) : a.rhs !== undefined ? f(xs[0]!, a.rhs) : f(xs[0]!, xs[1]!));
}

function unary(f: (x: Tensor) => Tensor): OpRunner {
  return (xs) => f(xs[0]!);
}

function reduction(f: (x: Tensor, axes: number | readonly number[] | undefined, keepDim: boolean) => Tensor): OpRunner {
  return (xs, a) => f(xs[0]!, a.axes, a.keepDim ?? false);
}

/**
 * How each golden op runs on our API, keyed by the op part of the case name (`add/broadcast`
 * runs `add`). Variants differ only in inputs and attrs, so a new golden case needs no code here.
 */
export const OP_CASES: { readonly [op: string]: OpRunner } = {
  neg: unary(neg),
  exp: unary(exp),
  log: unary(log),
  sqrt: unary(sqrt),
  rsqrt: unary(rsqrt),
  tanh: unary(tanh),
  sigmoid: unary(sigmoid),
  relu: unary(relu),
  erf: unary(erf),
  abs: unary(abs),
  sign: unary(sign),
  square: unary(square),
  gelu: (xs, a) => (a.approximate === undefined ? gelu(xs[0]!) : gelu(xs[0]!, a.approximate)),
  add: binary(add),
  sub: binary(sub),
  mul: binary(mul),
  div: binary(div),
  pow: binary(pow),
  maximum: binary(maximum),
  minimum: binary(minimum),
  eq: binary(eq),
  ne: binary(ne),
  lt: binary(lt),
  le: binary(le),
  gt: binary(gt),
  ge: binary(ge),
  where: (xs, a) => where(xs[0]!, xs[1]!, a.rhs ?? xs[2]!),
  clamp: (xs, a) => clamp(xs[0]!, a.min, a.max),
  cast: (xs, a) => cast(xs[0]!, a.dtype!),
  sum: reduction(sum),
  mean: reduction(mean),
  max: reduction(max),
  min: reduction(min),
  logsumexp: reduction(logsumexp),
  argmax: (xs, a) => argmax(xs[0]!, a.axis, a.keepDim ?? false),
  argmin: (xs, a) => argmin(xs[0]!, a.axis, a.keepDim ?? false),
  variance: (xs, a) => variance(xs[0]!, a.axes, { correction: a.correction ?? 1, keepDim: a.keepDim ?? false }),
  norm: (xs, a) => norm(xs[0]!, a.p === 'inf' ? Number.POSITIVE_INFINITY : a.p!, a.axes, a.keepDim ?? false),
  cumsum: (xs, a) => cumsum(xs[0]!, a.axis!),
  softmax: (xs, a) => softmax(xs[0]!, a.axis),
  logSoftmax: (xs, a) => logSoftmax(xs[0]!, a.axis),
  matmul: (xs) => matmul(xs[0]!, xs[1]!),
  einsum: (xs, a) => einsum(a.equation!, ...xs),
  reshape: (xs, a) => reshape(a.transposeFirst ? transpose(xs[0]!) : xs[0]!, a.shape!),
  contiguous: (xs, a) => contiguous(a.order ? permute(xs[0]!, a.order) : xs[0]!),
  permute: (xs, a) => permute(xs[0]!, a.order!),
  transpose: (xs, a) => transpose(xs[0]!, a.axis0, a.axis1),
  squeeze: (xs, a) => squeeze(xs[0]!, a.axes),
  unsqueeze: (xs, a) => unsqueeze(xs[0]!, a.axis!),
  flatten: (xs, a) => flatten(xs[0]!, a.startAxis, a.endAxis),
  expand: (xs, a) => expand(xs[0]!, a.shape!),
  slice: (xs, a) => slice(xs[0]!, a.ranges!),
  narrow: (xs, a) => narrow(xs[0]!, a.axis!, a.start!, a.length!),
  concat: (xs, a) => concat(xs, a.axis),
  stack: (xs, a) => stack(xs, a.axis),
  split: (xs, a) => split(xs[0]!, a.sizes!, a.axis),
  pad: (xs, a) => pad(xs[0]!, a.pads!, a.value),
  flip: (xs, a) => flip(xs[0]!, a.axes!),
  gather: (xs, a) => gather(xs[0]!, a.axis!, xs[1]!),
  scatterAdd: (xs, a) => scatterAdd(xs[0]!, a.axis!, xs[1]!, xs[2]!),
  indexSelect: (xs, a) => indexSelect(xs[0]!, a.axis!, xs[1]!),
  indexAdd: (xs, a) => indexAdd(xs[0]!, a.axis!, xs[1]!, xs[2]!),
  embedding: (xs) => embedding(xs[0]!, xs[1]!),
  oneHot: (xs, a) => oneHot(xs[0]!, a.numClasses!),
  triu: (xs, a) => triu(xs[0]!, a.diagonal),
  tril: (xs, a) => tril(xs[0]!, a.diagonal),
  topk: (xs, a) => {
    const { values, indices } = topk(xs[0]!, a.k!, { axis: a.axis ?? -1, largest: a.largest ?? true });
    return [values, indices];
  },
  layerNorm: (xs, a) => {
    const [x, ...rest] = xs;
    const weight = a.hasWeight ? rest.shift() : undefined;
    const bias = a.hasBias ? rest.shift() : undefined;
    return layerNorm(x!, weight, bias, a.eps);
  },
  rmsNorm: (xs, a) => rmsNorm(xs[0]!, a.hasWeight ? xs[1]! : undefined, a.eps),
  crossEntropy: (xs, a) => crossEntropy(xs[0]!, xs[1]!, { ignoreIndex: a.ignoreIndex ?? -100, reduction: a.reduction ?? 'mean' }),
};

/** numpy.allclose tolerances: |actual − expected| <= atol + rtol·|expected|. */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export interface OpTolerance {
  readonly forward: Tolerance;
  readonly grad: Tolerance;
}

/**
 * The goldens are correctly rounded float32 (float64 reference, rounded once), so these bound
 * the engine's own float32 error. Integer outputs must match exactly, whatever the table says.
 */
export const DEFAULT_TOLERANCE: OpTolerance = { forward: { rtol: 1e-5, atol: 1e-6 }, grad: { rtol: 1e-5, atol: 1e-6 } };

/**
 * Looser bounds, each with its reason. Measured on the js backend, every other op stays below a
 * third of the default (most below a twentieth), so the default is kept tight on purpose.
 */
export const TOLERANCES: { readonly [op: string]: Partial<OpTolerance> } = {
  // A float32 accumulation over k <= 8 products of unit-scale values errs by about k·ε·Σ|ab| ≈ 3e-6;
  // the js kernel accumulates in float64, a wasm or gpu kernel may not.
  matmul: { forward: { rtol: 1e-5, atol: 1e-5 }, grad: { rtol: 1e-5, atol: 1e-5 } },
  einsum: { forward: { rtol: 1e-5, atol: 1e-5 }, grad: { rtol: 1e-5, atol: 1e-5 } },
};

export function toleranceFor(op: string): OpTolerance {
  return { ...DEFAULT_TOLERANCE, ...TOLERANCES[op] };
}

export const EXACT: Tolerance = { rtol: 0, atol: 0 };
