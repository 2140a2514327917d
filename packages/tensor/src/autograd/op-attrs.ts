import type { DType } from '../dtype.ts';

type NoAttrs = Record<never, never>;

/** [start, stop, step] per axis, already resolved: 0 <= start, step >= 1. */
export type SliceSpec = ReadonlyArray<readonly [start: number, stop: number, step: number]>;

/**
 * The primitive ops of the tape and the attributes each records. Every other op is composed
 * from these. The gradient table is keyed by this interface, so adding an op here without
 * a gradient rule (or an explicit 'not-differentiable') is a compile error.
 */
export interface OpAttrs {
  neg: NoAttrs;
  exp: NoAttrs;
  log: NoAttrs;
  sqrt: NoAttrs;
  rsqrt: NoAttrs;
  tanh: NoAttrs;
  sigmoid: NoAttrs;
  relu: NoAttrs;
  erf: NoAttrs;
  gelu: NoAttrs;
  geluTanh: NoAttrs;
  abs: NoAttrs;
  sign: NoAttrs;
  add: NoAttrs;
  sub: NoAttrs;
  mul: NoAttrs;
  div: NoAttrs;
  pow: NoAttrs;
  maximum: NoAttrs;
  minimum: NoAttrs;
  eq: NoAttrs;
  ne: NoAttrs;
  lt: NoAttrs;
  le: NoAttrs;
  gt: NoAttrs;
  ge: NoAttrs;
  /** inputs: [cond, a, b] */
  where: NoAttrs;
  clamp: { min: number; max: number };
  cast: { dtype: DType };
  sum: { axes: readonly number[] };
  max: { axes: readonly number[] };
  min: { axes: readonly number[] };
  argmax: { axis: number };
  argmin: { axis: number };
  cumsum: { axis: number };
  softmax: { axis: number };
  logSoftmax: { axis: number };
  matmul: NoAttrs;
  reshape: { shape: readonly number[] };
  permute: { order: readonly number[] };
  expand: { shape: readonly number[] };
  slice: { spec: SliceSpec };
  flip: { axes: readonly number[] };
  contiguous: NoAttrs;
  concat: { axis: number };
  pad: { pads: ReadonlyArray<readonly [before: number, after: number]>; value: number };
  /** inputs: [x, index] */
  gather: { axis: number };
  /** inputs: [base, index, src] */
  scatterAdd: { axis: number };
  /** inputs: [x, index] */
  indexSelect: { axis: number };
  /** inputs: [base, index, src] */
  indexAdd: { axis: number };
  topkIndices: { k: number; largest: boolean };
  /** inputs: [x, weight?, bias?] */
  layerNorm: { eps: number; hasWeight: boolean; hasBias: boolean };
  /** inputs: [x, weight?] */
  rmsNorm: { eps: number; hasWeight: boolean };
  /** inputs: [logits [n, c], targets [n]]; output: per-row loss [n] */
  crossEntropy: { ignoreIndex: number };
}

export type OpName = keyof OpAttrs;
