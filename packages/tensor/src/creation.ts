import type { Backend } from './backend.ts';
import { getBackend } from './backends/index.ts';
import { type DType, type TypedArray, dtypeOfArray } from './dtype.ts';
import { DTypeError, ShapeError, ValueError, formatShape } from './errors.ts';
import { Generator } from './random.ts';
import { assertValidShape, sizeOf } from './shape.ts';
import { Tensor, type NestedArray } from './tensor.ts';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: Backend<unknown>;
}

export interface RandomOptions extends CreateOptions {
  /** Defaults to the global generator, seeded with manualSeed(). */
  generator?: Generator;
}

let globalGenerator = Generator.fromSeed(0);

/** Seeds the generator used by rand, randn and randint when none is passed. */
export function manualSeed(seed: number): void {
  globalGenerator = Generator.fromSeed(seed);
}

function build(data: TypedArray, shape: readonly number[], options: CreateOptions): Tensor {
  const backend = options.backend ?? getBackend();
  const dtype = dtypeOfArray(data);
  const handle = backend.allocate(dtype, data.length);
  backend.write(handle, data);
  const t = new Tensor(backend, { handle, dtype, shape });
  return options.requiresGrad ? t.setRequiresGrad(true) : t;
}

function inferShape(value: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0]!;
  }
  return shape;
}

function flattenNested(value: NestedArray, shape: readonly number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (typeof value !== 'number') throw new ShapeError('ragged nested array', { op: 'tensor', arg: 'data', expected: `a regular array of shape ${formatShape(shape)}`, given: 'deeper nesting' });
    out.push(value);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw new ShapeError('ragged nested array', {
      op: 'tensor',
      arg: 'data',
      expected: `a regular array of shape ${formatShape(shape)}`,
      given: `a row of length ${Array.isArray(value) ? value.length : 'scalar'} at depth ${depth}`,
    });
  }
  for (const item of value) flattenNested(item, shape, out, depth + 1);
}

/**
 * A tensor from a number, a nested array or a typed array. Nested arrays infer their shape;
 * a flat array takes `shape` if given. dtype defaults to float32 (int32 for an Int32Array).
 */
export function tensor(data: NestedArray | TypedArray, options: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  const isTyped = data instanceof Float32Array || data instanceof Int32Array;
  const dtype = options.dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  let values: ArrayLike<number>;
  let shape: readonly number[];
  if (isTyped) {
    values = data;
    shape = options.shape ?? [data.length];
  } else {
    const inferred = inferShape(data);
    const flat: number[] = [];
    flattenNested(data, inferred, flat);
    values = flat;
    shape = options.shape ?? inferred;
  }
  assertValidShape('tensor', shape);
  if (sizeOf(shape) !== values.length) {
    throw new ShapeError('data does not fill the shape', { op: 'tensor', arg: 'shape', expected: `${values.length} elements`, given: formatShape(shape) });
  }
  const array = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  return build(array, shape, options);
}

export function full(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  assertValidShape('full', shape);
  const backend = options.backend ?? getBackend();
  const dtype = options.dtype ?? 'float32';
  const t = new Tensor(backend, { handle: backend.kernels.fill(dtype, sizeOf(shape), value), dtype, shape });
  return options.requiresGrad ? t.setRequiresGrad(true) : t;
}

export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

function likeOptions(like: Tensor, options: CreateOptions): CreateOptions {
  return { dtype: like.dtype, backend: like.backend, ...options };
}

export function zerosLike(like: Tensor, options: CreateOptions = {}): Tensor {
  return full(like.shape, 0, likeOptions(like, options));
}

export function onesLike(like: Tensor, options: CreateOptions = {}): Tensor {
  return full(like.shape, 1, likeOptions(like, options));
}

export function fullLike(like: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(like.shape, value, likeOptions(like, options));
}

/** [start, stop) by step: `arange(5)`, `arange(2, 10, 2)`. int32 when every argument is an integer. */
export function arange(
  startOrStop: number,
  stopOrOptions?: number | CreateOptions,
  stepOrOptions?: number | CreateOptions,
  maybeOptions: CreateOptions = {},
): Tensor {
  const options = [stopOrOptions, stepOrOptions].find((v): v is CreateOptions => typeof v === 'object') ?? maybeOptions;
  const hasStop = typeof stopOrOptions === 'number';
  const start = hasStop ? startOrStop : 0;
  const stop = hasStop ? stopOrOptions : startOrStop;
  const step = typeof stepOrOptions === 'number' ? stepOrOptions : 1;
  if (step === 0 || !Number.isFinite(step) || !Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new ValueError('invalid range', { op: 'arange', arg: 'step', expected: 'finite bounds and a non-zero step', given: `start=${start}, stop=${stop}, step=${step}` });
  }
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = options.dtype ?? ([start, stop, step].every(Number.isInteger) ? 'int32' : 'float32');
  const values = dtype === 'int32' ? new Int32Array(length) : new Float32Array(length);
  for (let i = 0; i < length; i++) values[i] = start + i * step;
  return build(values, [length], options);
}

function floatOnly(op: string, options: CreateOptions): void {
  if (options.dtype && options.dtype !== 'float32') throw new DTypeError('random floats are float32', { op, arg: 'dtype', expected: 'float32', given: options.dtype });
}

/** Uniform on [0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  floatOnly('rand', options);
  assertValidShape('rand', shape);
  const values = new Float32Array(sizeOf(shape));
  (options.generator ?? globalGenerator).fillUniform(values);
  return build(values, shape, options);
}

/** Standard normal. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  floatOnly('randn', options);
  assertValidShape('randn', shape);
  const values = new Float32Array(sizeOf(shape));
  (options.generator ?? globalGenerator).fillNormal(values);
  return build(values, shape, options);
}

/** Integers uniform on [low, high), int32. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  assertValidShape('randint', shape);
  const generator = options.generator ?? globalGenerator;
  const values = new Int32Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = generator.randint(low, high);
  return build(values, shape, { ...options, dtype: 'int32' });
}
