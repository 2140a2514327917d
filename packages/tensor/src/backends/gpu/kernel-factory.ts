import type { View } from '../../backend.ts';
import { allocArray, type DType } from '../../dtype.ts';
import { sizeOf } from '../../shape.ts';
import { type DeviceValue, GpuBuffer, type Maybe, allOf, kernelSettings } from './buffer.ts';
import { HELPERS, type HelperName, lit, offsetExpr, splitIndex } from './codegen.ts';
import { type GpuJsKernel, gpuContext } from './context.ts';
import { gpuStats } from './stats.ts';

export type GpuView = View<GpuBuffer>;

/** Largest element count whose flat indices stay exact in float32 index arithmetic. */
export const MAX_DEVICE_ELEMENTS = 1 << 24;

/** The device path cannot take these arguments; the caller runs the js reference instead. */
export class DeviceDecline extends Error {}

const cache = new Map<string, GpuJsKernel>();
let dummy: GpuBuffer | null = null;

/** A one-element buffer passed where an input is empty. */
function placeholder(): GpuBuffer {
  if (!dummy) {
    dummy = new GpuBuffer('float32', 1);
    dummy.kept = true;
  }
  return dummy;
}

export function dropKernelCache(): void {
  cache.clear();
  dummy?.free();
  dummy = null;
}

/** The part of a view baked into kernel source: buffer size, shape, strides and offset. */
export function viewKey(v: GpuView): string {
  return `${v.handle.size}[${v.shape.join(',')}|${v.strides.join(',')}|${v.offset}]`;
}

export interface KernelSpec {
  /** Kernel name, for the counters. */
  readonly op: string;
  /** Identifies the generated source: everything it bakes in. */
  readonly key: string;
  /** Buffers passed as x0, x1, ... */
  readonly inputs: readonly GpuBuffer[];
  readonly size: number;
  readonly dtype: DType;
  /** Statements computing the output for flat index `i`, ending in a return. */
  readonly body: () => string;
  readonly helpers?: readonly HelperName[];
}

function source(spec: KernelSpec): string {
  const params = spec.inputs.map((_, i) => `x${i}`).join(', ');
  const fns = [...new Set(spec.helpers ?? [])].map((h) => HELPERS[h]);
  return `function (${params}) {\n${fns.join('\n')}\nconst i = this.thread.x;\n${spec.body()}\n}`;
}

/**
 * Runs one generated kernel into a new buffer. Under webgpu the kernel is only scheduled: its
 * result and every read of its inputs are Promises the buffers track.
 */
export function launch(spec: KernelSpec, into?: GpuBuffer): GpuBuffer {
  if (spec.size > MAX_DEVICE_ELEMENTS || spec.inputs.some((b) => b.size > MAX_DEVICE_ELEMENTS)) {
    throw new DeviceDecline(`more than ${MAX_DEVICE_ELEMENTS} elements`);
  }
  if (spec.size === 0) {
    const empty = into ?? new GpuBuffer(spec.dtype, 0);
    empty.setHost(allocArray(spec.dtype, 0));
    return empty;
  }
  const ctx = gpuContext();
  const key = `${spec.key}#${spec.inputs.map((b) => b.size).join(',')}>${spec.size}`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel = ctx.gpu.createKernel(source(spec), kernelSettings(spec.size));
    cache.set(key, kernel);
    gpuStats.compiled++;
  }
  const compiled = kernel;
  const run = (values: unknown[]): Maybe<DeviceValue> => {
    const result = compiled(...values) as Maybe<DeviceValue>;
    gpuStats.launches++;
    if (ctx.info.mode !== 'cpu' && ctx.isCpuKernel(compiled.kernel)) gpuStats.degraded[spec.op] = (gpuStats.degraded[spec.op] ?? 0) + 1;
    return result;
  };
  // An empty input is never read (its loops run zero times), but gpu.js needs an array there.
  const all = allOf(spec.inputs.map((b) => (b.size === 0 ? placeholder() : b).device(spec.op)));
  if (all instanceof Promise) {
    const out = into ?? new GpuBuffer(spec.dtype, spec.size);
    const pending = all.then(run);
    for (const b of spec.inputs) b.addReader(pending);
    out.setDevice(pending);
    return out;
  }
  // A kernel gpu.js cannot build throws here, before any buffer exists, and the caller falls back.
  const value = run(all);
  const out = into ?? new GpuBuffer(spec.dtype, spec.size);
  out.setDevice(value);
  return out;
}

/** Unique buffers of some views, and each view's argument name. */
export function argsOf(views: readonly GpuView[]): { inputs: GpuBuffer[]; names: string[] } {
  const inputs: GpuBuffer[] = [];
  const names = views.map((v) => {
    let i = inputs.indexOf(v.handle);
    if (i < 0) i = inputs.push(v.handle) - 1;
    return `x${i}`;
  });
  return { inputs, names };
}

/** How an output of the given dtype leaves a kernel: int32 truncates like a store into an Int32Array. */
export function finish(dtype: DType, expr: string): string {
  return dtype === 'int32' ? `return toInt(${expr});` : `return ${expr};`;
}

export interface MapSnippet {
  /** Statements over the operand values `a, b, c, ..`, each path ending in `return <expr>;`: `return a + b;`. */
  readonly body: string;
  readonly helpers?: readonly HelperName[];
}

export const OPERANDS = ['a', 'b', 'c', 'd', 'e', 'g'] as const;

/** A snippet's returns made to leave the kernel as `dtype`. */
function finishReturns(body: string, dtype: DType): string {
  return dtype === 'int32' ? body.replace(/return ([^;]+);/g, 'return toInt($1);') : body;
}

/**
 * Elementwise over operands already broadcast (stride 0) to one shape, the way tfjs-backend-webgl's
 * unary and binary kernel factories take a snippet: each output element binds the operands'
 * elements at its coordinates to `a, b, ..` and runs the snippet. (The snippet is inlined rather
 * than wrapped in a function: gpu.js's wasm target cannot type a local initialised from a parameter.)
 */
export function mapKernel(op: string, views: readonly GpuView[], dtype: DType, snippet: MapSnippet, keyExtra = ''): GpuBuffer {
  const shape = views[0]!.shape;
  const { inputs, names } = argsOf(views);
  return launch({
    op,
    key: `map:${op}:${dtype}:${keyExtra}:${views.map(viewKey).join(';')}`,
    inputs,
    size: sizeOf(shape),
    dtype,
    helpers: [...(snippet.helpers ?? []), 'toInt'],
    body: () => {
      const reads = views.map((v, k) => `const ${OPERANDS[k]} = ${names[k]}[${offsetExpr(v.shape, v.strides, v.offset, (a) => `c${a}`)}];`);
      return [splitIndex('i', shape, 'c'), ...reads, finishReturns(snippet.body, dtype)].join('\n');
    },
  });
}

export interface ReduceSnippet {
  /** Statements before the loop; `e0, e1, ..` are the extra operands at this output position. */
  readonly init: string;
  /** Statements per element: `v` is its value, `rf` its flat position among the reduced elements. */
  readonly step: string;
  /** The output value. */
  readonly result: string;
  readonly helpers?: readonly HelperName[];
}

/**
 * Reduces the `axes` of x away: each output element loops over its reduced elements with the
 * snippet. `extras` are operands shaped like the output (row statistics a second pass needs).
 */
export function reduceKernel(op: string, x: GpuView, axes: readonly number[], dtype: DType, snippet: ReduceSnippet, extras: readonly GpuView[] = [], keyExtra = ''): GpuBuffer {
  const kept = [...x.shape.keys()].filter((a) => !axes.includes(a));
  const keptShape = kept.map((a) => x.shape[a]!);
  const redShape = axes.map((a) => x.shape[a]!);
  const count = sizeOf(redShape);
  if (count === 0) throw new DeviceDecline('empty reduction');
  const { inputs, names } = argsOf([x, ...extras]);
  return launch({
    op,
    key: `reduce:${op}:${dtype}:${keyExtra}:${axes.join(',')}:${[x, ...extras].map(viewKey).join(';')}`,
    inputs,
    size: sizeOf(keptShape),
    dtype,
    helpers: [...(snippet.helpers ?? []), 'toInt'],
    body: () => {
      const base = offsetExpr(keptShape, kept.map((a) => x.strides[a]!), x.offset, (k) => `k${k}`);
      const inner = offsetExpr(redShape, axes.map((a) => x.strides[a]!), 0, (k) => `r${k}`);
      const extraReads = extras.map((e, k) => `const e${k} = ${names[k + 1]}[${offsetExpr(e.shape, e.strides, e.offset, (a) => `k${a}`)}];`);
      return [
        splitIndex('i', keptShape, 'k'),
        `const base = ${base};`,
        ...extraReads,
        snippet.init,
        `for (let r = 0; r < ${count}; r++) {`,
        splitIndex('r', redShape, 'r'),
        'const rf = r * 1.0;',
        `const v = ${names[0]}[base + ${inner}];`,
        snippet.step,
        '}',
        finish(dtype, snippet.result),
      ].join('\n');
    },
  });
}

/** [...batch, m, k] @ [...batch, k, n]: one output element per thread, a float32 dot product over k. */
export function matmulKernel(a: GpuView, b: GpuView): GpuBuffer {
  const rank = a.shape.length;
  const m = a.shape[rank - 2]!;
  const k = a.shape[rank - 1]!;
  const n = b.shape[rank - 1]!;
  const outShape = [...a.shape.slice(0, -2), m, n];
  const { inputs, names } = argsOf([a, b]);
  return launch({
    op: 'matmul',
    key: `matmul:${viewKey(a)};${viewKey(b)}`,
    inputs,
    size: sizeOf(outShape),
    dtype: 'float32',
    body: () => {
      const aBase = offsetExpr(outShape.slice(0, -1), a.strides.slice(0, -1), a.offset, (ax) => `c${ax}`);
      const bBase = offsetExpr(
        [...outShape.slice(0, -2), n],
        [...b.strides.slice(0, -2), b.strides[rank - 1]!],
        b.offset,
        (ax) => (ax === rank - 2 ? `c${rank - 1}` : `c${ax}`),
      );
      return [
        splitIndex('i', outShape, 'c'),
        `const ab = ${aBase};`,
        `const bb = ${bBase};`,
        'let acc = 0.0;',
        `for (let p = 0; p < ${k}; p++) {`,
        `acc = acc + ${names[0]}[ab + p * ${lit(a.strides[rank - 1]!)}] * ${names[1]}[bb + p * ${lit(b.strides[rank - 2]!)}];`,
        '}',
        'return acc;',
      ].join('\n');
    },
  });
}
