import type { DType, TypedArray } from './dtype.ts';

/**
 * A strided window onto a backend buffer. Views make reshape, permute, expand (stride 0),
 * slice (with steps) and flip (negative strides) free: no kernel runs and nothing is copied.
 */
export interface View<H> {
  readonly handle: H;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export type UnaryKernelOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'erf'
  | 'gelu'
  | 'geluTanh'
  | 'abs'
  | 'sign';
export type BinaryKernelOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
export type CompareKernelOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type ReduceKernelOp = 'sum' | 'max' | 'min';
export type ArgReduceKernelOp = 'argmax' | 'argmin';

/**
 * The scalars of one Adam step, each already rounded to float32 (see optim/adam.ts):
 * m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g², v̂ = max(v̂, v) with amsgrad else v,
 * p += stepSize·m / (√v̂ / bc2Sqrt + eps), where stepSize = −lr / (1 − β1ᵗ) and bc2Sqrt = √(1 − β2ᵗ).
 */
export interface AdamScalars {
  beta1: number;
  beta2: number;
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  stepSize: number;
  bc2Sqrt: number;
  eps: number;
  /** 'l2' first adds weightDecay·p to g (Adam); 'decoupled' first multiplies p by decay = 1 − lr·wd (AdamW). */
  decayMode: 'none' | 'l2' | 'decoupled';
  weightDecay: number;
  decay: number;
}

/**
 * Every kernel a backend must provide. The table is a mapped type, so a backend that
 * misses a kernel does not compile. Inputs are views; outputs are new contiguous buffers
 * unless stated. Binary and ternary kernels receive operands already broadcast (stride 0)
 * to the output shape, and operands already promoted to one dtype.
 */
export type KernelTable<H> = { [K in UnaryKernelOp]: (x: View<H>) => H } & {
  [K in BinaryKernelOp]: (a: View<H>, b: View<H>) => H;
} & {
  /** Comparisons write int32 0/1. */
  [K in CompareKernelOp]: (a: View<H>, b: View<H>) => H;
} & {
  /** Reduces the (sorted) axes away; the output shape is the kept axes in order. */
  [K in ReduceKernelOp]: (x: View<H>, axes: readonly number[]) => H;
} & {
  /** Index (int32) of the first extreme value along one axis, which is removed. */
  [K in ArgReduceKernelOp]: (x: View<H>, axis: number) => H;
} & {
  /** Copies a view into a new contiguous buffer, converting the dtype if asked. */
  copy: (x: View<H>, dtype: DType) => H;
  /** Writes `src` (same shape as `dst`) into the strided region `dst` of an existing buffer. */
  assign: (dst: View<H>, src: View<H>) => void;
  fill: (dtype: DType, size: number, value: number) => H;
  /** cond is any dtype (nonzero is true); a and b share the output dtype. */
  where: (cond: View<H>, a: View<H>, b: View<H>) => H;
  clamp: (x: View<H>, min: number, max: number) => H;
  cumsum: (x: View<H>, axis: number) => H;
  softmax: (x: View<H>, axis: number) => H;
  logSoftmax: (x: View<H>, axis: number) => H;
  /** [...batch, m, k] @ [...batch, k, n], batch dims already broadcast to the same shape. */
  matmul: (a: View<H>, b: View<H>) => H;
  /** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1; out has index's shape. */
  gather: (x: View<H>, axis: number, index: View<H>) => H;
  /** torch.scatter_add: a copy of base with src added at index positions along axis. */
  scatterAdd: (base: View<H>, axis: number, index: View<H>, src: View<H>) => H;
  /** Selects whole slices along axis by a 1-d int32 index. */
  indexSelect: (x: View<H>, axis: number, index: View<H>) => H;
  /** A copy of base with slices of src added at the 1-d index positions along axis. */
  indexAdd: (base: View<H>, axis: number, index: View<H>, src: View<H>) => H;
  /** int32 indices of the k largest (or smallest) along the last axis, best first, ties by lower index. */
  topk: (x: View<H>, k: number, largest: boolean) => H;
  /** Normalises over the last axis; weight and bias are 1-d over that axis. */
  layerNorm: (x: View<H>, weight: View<H> | null, bias: View<H> | null, eps: number) => H;
  rmsNorm: (x: View<H>, weight: View<H> | null, eps: number) => H;
  /** Per-row loss for logits [n, c] and int32 targets [n]; rows whose target is ignoreIndex give 0. */
  crossEntropy: (logits: View<H>, targets: View<H>, ignoreIndex: number) => H;
  /**
   * One Adam step, in place: updates param, expAvg, expAvgSq and, with amsgrad, maxExpAvgSq.
   * Every view is float32, contiguous (any offset) and of the same size; nothing is allocated.
   */
  adamUpdate: (param: View<H>, grad: View<H>, expAvg: View<H>, expAvgSq: View<H>, maxExpAvgSq: View<H> | null, scalars: AdamScalars) => void;
};

export type KernelName = keyof KernelTable<unknown>;

/** A small handle-based backend: buffers behind opaque handles, and a table of kernels over them. */
export interface Backend<H = unknown> {
  readonly name: string;
  /** A new zero-filled buffer. */
  allocate(dtype: DType, size: number): H;
  write(handle: H, data: TypedArray): void;
  /** The whole buffer as a fresh typed array. */
  read(handle: H, dtype: DType): TypedArray;
  dispose(handle: H): void;
  readonly kernels: KernelTable<H>;
}
