import type { GradNode } from './autograd/graph.ts';
import type { Backend, View } from './backend.ts';
import type { DType, TypedArray } from './dtype.ts';
import { ValueError, formatShape } from './errors.ts';
import { contiguousStrides, sizeOf } from './shape.ts';
import * as ops from './ops/index.ts';
import { backward } from './autograd/backward.ts';

export type NestedArray = number | readonly NestedArray[];
export type Scalar = number;
export type TensorLike = Tensor | Scalar;
/** Sees a gradient once it is complete; returning a tensor replaces it. */
export type GradHook = (grad: Tensor) => Tensor | undefined;

/**
 * An n-dimensional array on a backend, with shape, strides and offset over a buffer handle,
 * and the autograd state needed for reverse mode. Methods are thin aliases of the functions in ops/.
 */
export class Tensor implements View<unknown> {
  readonly backend: Backend<unknown>;
  readonly handle: unknown;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;

  requiresGrad = false;
  /** Accumulated gradient of a leaf (or of an intermediate after retainGrad()). */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it is part of a graph that needs gradients. */
  node: GradNode | null = null;
  retainsGrad = false;
  readonly gradHooks: GradHook[] = [];

  constructor(backend: Backend<unknown>, view: Omit<View<unknown>, 'strides' | 'offset'> & Partial<View<unknown>>) {
    this.backend = backend;
    this.handle = view.handle;
    this.dtype = view.dtype;
    this.shape = Object.freeze([...view.shape]);
    this.strides = Object.freeze([...(view.strides ?? contiguousStrides(view.shape))]);
    this.offset = view.offset ?? 0;
  }

  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** The elements in row-major order, as a fresh typed array. */
  data(): TypedArray {
    const contiguous = ops.contiguous(this);
    const all = this.backend.read(contiguous.handle, this.dtype);
    const size = this.size;
    return contiguous.offset === 0 && all.length === size ? all : all.slice(contiguous.offset, contiguous.offset + size);
  }

  toArray(): NestedArray {
    const flat = Array.from(this.data());
    const build = (axis: number, start: number): NestedArray => {
      if (axis === this.rank) return flat[start]!;
      const step = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis]! }, (_, i) => build(axis + 1, start + i * step));
    };
    return build(0, 0);
  }

  item(): number {
    if (this.size !== 1) {
      throw new ValueError('item() needs exactly one element', {
        op: 'item',
        expected: 'a tensor with one element',
        given: `shape ${formatShape(this.shape)}`,
      });
    }
    return this.data()[0]!;
  }

  // Autograd.
  setRequiresGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }
  backward(seed?: Tensor): void {
    backward(this, seed);
  }
  /** Keeps the gradient of this intermediate in `.grad` after backward. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }
  /** Calls `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces the gradient. */
  registerHook(hook: GradHook): () => void {
    this.gradHooks.push(hook);
    return () => {
      const i = this.gradHooks.indexOf(hook);
      if (i >= 0) this.gradHooks.splice(i, 1);
    };
  }
  /** The same data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.backend, this);
  }
  /**
   * Overwrites this tensor's elements with `src` (broadcast to this shape), in place and off the
   * tape: how optimizers update parameters. `src` must be on the same backend.
   */
  copyFrom(src: Tensor): this {
    this.backend.kernels.assign(this, ops.contiguous(ops.cast(src, this.dtype).expand(this.shape)));
    return this;
  }
  /** Frees device memory now; a no-op on garbage-collected backends. */
  dispose(): void {
    this.backend.dispose(this.handle);
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype})`;
  }

  // Elementwise.
  add(other: TensorLike): Tensor {
    return ops.add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return ops.sub(this, other);
  }
  mul(other: TensorLike): Tensor {
    return ops.mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return ops.div(this, other);
  }
  pow(other: TensorLike): Tensor {
    return ops.pow(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  square(): Tensor {
    return ops.mul(this, this);
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }

  // Reductions.
  sum(axes?: number | readonly number[], keepDim = false): Tensor {
    return ops.sum(this, axes, keepDim);
  }
  mean(axes?: number | readonly number[], keepDim = false): Tensor {
    return ops.mean(this, axes, keepDim);
  }
  max(axes?: number | readonly number[], keepDim = false): Tensor {
    return ops.max(this, axes, keepDim);
  }
  min(axes?: number | readonly number[], keepDim = false): Tensor {
    return ops.min(this, axes, keepDim);
  }
  argmax(axis?: number, keepDim = false): Tensor {
    return ops.argmax(this, axis, keepDim);
  }

  // Shape.
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  permute(order: readonly number[]): Tensor {
    return ops.permute(this, order);
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return ops.transpose(this, axis0, axis1);
  }
  get T(): Tensor {
    return ops.transpose(this, -2, -1);
  }
  expand(shape: readonly number[]): Tensor {
    return ops.expand(this, shape);
  }
  squeeze(axes?: number | readonly number[]): Tensor {
    return ops.squeeze(this, axes);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  flatten(startAxis = 0, endAxis = -1): Tensor {
    return ops.flatten(this, startAxis, endAxis);
  }
  contiguous(): Tensor {
    return ops.contiguous(this);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
}
