import type { AdamScalars, BinaryKernelOp, CompareKernelOp, KernelTable, UnaryKernelOp, View } from '../../backend.ts';
import { allocArray, type DType, type TypedArray } from '../../dtype.ts';
import { ValueError } from '../../errors.ts';
import { jsBackend } from '../js/index.ts';
import { isContiguous, sizeOf } from '../../shape.ts';
import { GpuBuffer } from './buffer.ts';
import { gpuContext } from './context.ts';
import { lit, offsetExpr, splitIndex } from './codegen.ts';
import { withFallback } from './fallback.ts';
import { countFallback } from './stats.ts';
import { crossEntropy, gather, indexAdd, indexSelect, scatterAdd, topk } from './indexing-kernels.ts';
import { DeviceDecline, type GpuView, OPERANDS, argsOf, launch, mapKernel, matmulKernel, reduceKernel, viewKey } from './kernel-factory.ts';
import { KAHAN_INIT, alongAxis, kahanAdd, rowMax, rowSumExp, whole, withTemps } from './row-stats.ts';
import { binarySnippets, compareSnippets, unarySnippets, whereSnippet } from './snippets.ts';

function softmaxLike(op: 'softmax' | 'logSoftmax') {
  return (x: GpuView, axis: number): GpuBuffer =>
    withTemps((temps) => {
      if (sizeOf(x.shape) === 0) return emptyLike(x);
      const m = rowMax(x, axis);
      temps.push(m);
      const s = rowSumExp(x, axis, m);
      temps.push(s);
      const body = op === 'softmax' ? 'return Math.exp(a - b) / c;' : 'return (a - b) - Math.log(c);';
      return mapKernel(op, [x, alongAxis(m, x.shape, axis), alongAxis(s, x.shape, axis)], 'float32', { body });
    });
}

function extreme(op: 'max' | 'min') {
  const better = op === 'max' ? 'v > acc' : 'v < acc';
  return (x: GpuView, axes: readonly number[]): GpuBuffer =>
    reduceKernel(op, x, axes, x.dtype, {
      init: 'let acc = 0.0;\nlet has = 0.0;',
      // NaN propagates: once acc is NaN nothing replaces it.
      step: `if (has === 0.0) { acc = v; has = 1.0; } else if (acc === acc && (v !== v || ${better})) { acc = v; }`,
      result: 'acc',
    });
}

function argExtreme(op: 'argmax' | 'argmin') {
  const better = op === 'argmax' ? 'v > best' : 'v < best';
  return (x: GpuView, axis: number): GpuBuffer =>
    reduceKernel(op, x, [axis], 'int32', {
      init: 'let best = 0.0;\nlet bi = 0.0;\nlet has = 0.0;\nlet done = 0.0;',
      step: `if (has === 0.0) { best = v; has = 1.0; } else if (done === 0.0) { if (best !== best) { done = 1.0; } else if (v !== v || ${better}) { best = v; bi = rf; } }`,
      result: 'bi',
    });
}

function cumsum(x: GpuView, axis: number): GpuBuffer {
  const length = x.shape[axis]!;
  const { inputs, names } = argsOf([x]);
  return launch({
    op: 'cumsum',
    key: `cumsum:${axis}:${viewKey(x)}`,
    inputs,
    size: sizeOf(x.shape),
    dtype: x.dtype,
    helpers: ['toInt'],
    body: () =>
      [
        splitIndex('i', x.shape, 'c'),
        `const base = ${offsetExpr(x.shape, x.strides, x.offset, (a) => (a === axis ? '0.0' : `c${a}`))};`,
        KAHAN_INIT,
        `for (let j = 0; j < ${length}; j++) {`,
        `if (j > c${axis}) { break; }`,
        `const v = ${names[0]}[base + j * ${lit(x.strides[axis]!)}];`,
        kahanAdd('v'),
        '}',
        x.dtype === 'int32' ? 'return toInt(acc);' : 'return acc;',
      ].join('\n'),
  });
}

/**
 * Writes src into the strided region dst of dst's buffer. The kernel runs over the whole buffer:
 * each position finds its coordinates in the region (slices are nested: every stride spans the
 * axes below it) and takes src there, or keeps its old value.
 */
function assign(dst: GpuView, src: GpuView): void {
  const buffer = dst.handle;
  if (sizeOf(dst.shape) === 0) return;
  const axes = [...dst.shape.keys()].filter((a) => dst.shape[a]! > 1).sort((p, q) => Math.abs(dst.strides[q]!) - Math.abs(dst.strides[p]!));
  let span = 1;
  for (const a of [...axes].reverse()) {
    const s = Math.abs(dst.strides[a]!);
    if (s < span) throw new DeviceDecline('overlapping destination');
    span = s * (dst.shape[a]! - 1) + span;
  }
  // The lowest buffer position the region touches.
  const origin = dst.offset + axes.reduce((o, a) => o + Math.min(0, dst.strides[a]! * (dst.shape[a]! - 1)), 0);
  const whole = isContiguous(dst.shape, dst.strides) && dst.offset === 0 && sizeOf(dst.shape) === buffer.size;
  const views = whole ? [src] : [src, { ...dst, shape: [buffer.size], strides: [1], offset: 0 }];
  const { inputs, names } = argsOf(views);
  launch(
    {
      op: 'assign',
      key: `assign:${viewKey(dst)};${viewKey(src)}`,
      inputs,
      size: buffer.size,
      dtype: buffer.dtype,
      helpers: ['toInt'],
      body: () => {
        const cast = (e: string) => (buffer.dtype === 'int32' ? `toInt(${e})` : e);
        if (whole) return [splitIndex('i', dst.shape, 'c'), `return ${cast(`${names[0]}[${offsetExpr(src.shape, src.strides, src.offset, (a) => `c${a}`)}]`)};`].join('\n');
        const lines = [`let rem = i - ${lit(origin)};`, 'let inside = rem >= 0.0 ? 1.0 : 0.0;'];
        for (const a of axes) {
          const s = dst.strides[a]!;
          const d = dst.shape[a]!;
          lines.push(
            `const q${a} = Math.floor((rem + 0.5) / ${lit(Math.abs(s))});`,
            `if (q${a} > ${lit(d - 1)}) { inside = 0.0; }`,
            `rem = rem - q${a} * ${lit(Math.abs(s))};`,
            `const c${a} = ${s < 0 ? `${lit(d - 1)} - q${a}` : `q${a}`};`,
          );
        }
        for (const a of dst.shape.keys()) if (!axes.includes(a)) lines.push(`const c${a} = 0.0;`);
        lines.push(
          `if (inside === 1.0 && rem === 0.0) { return ${cast(`${names[0]}[${offsetExpr(src.shape, src.strides, src.offset, (a) => `c${a}`)}]`)}; }`,
          `return ${names[1]}[i];`,
        );
        return lines.join('\n');
      },
    },
    buffer,
  );
}

function fill(dtype: DType, size: number, value: number): GpuBuffer {
  if (!Number.isFinite(value)) throw new DeviceDecline('non-finite fill');
  const v = dtype === 'int32' ? Math.trunc(value) | 0 : Math.fround(value);
  if (gpuContext().info.async && size <= 1 << 16) {
    // Under webgpu a small constant stays on the host (uploaded when a kernel reads it), so the
    // engine's synchronous reads of int32 bookkeeping can see it.
    const out = new GpuBuffer(dtype, size);
    out.setHost(allocArray(dtype, size).fill(v));
    return out;
  }
  return launch({ op: 'fill', key: `fill:${dtype}:${v}`, inputs: [], size, dtype, body: () => `return ${lit(v)};` });
}

function clamp(x: GpuView, min: number, max: number): GpuBuffer {
  const lines = ['let v = a;'];
  if (min > Number.NEGATIVE_INFINITY) lines.push(`if (v < ${lit(min)}) { v = ${lit(min)}; }`);
  if (max < Number.POSITIVE_INFINITY) lines.push(`if (v > ${lit(max)}) { v = ${lit(max)}; }`);
  if (Number.isNaN(min) || Number.isNaN(max)) throw new DeviceDecline('NaN bound');
  lines.push('return v;');
  return mapKernel('clamp', [x], x.dtype, { body: lines.join('\n') }, `${min},${max}`);
}

/**
 * Mean and variance (or mean square) over the last axis, then one elementwise pass. layerNorm's
 * statistics are of x minus the row's first element: exact differences for rows far from zero,
 * where a float32 mean alone would cost most of the deviations' digits.
 */
function normalize(op: 'layerNorm' | 'rmsNorm', x: GpuView, weight: GpuView | null, bias: GpuView | null, eps: number): GpuBuffer {
  const axis = x.shape.length - 1;
  const length = x.shape[axis]!;
  if (sizeOf(x.shape) === 0) return emptyLike(x);
  const kept = x.shape.slice(0, -1);
  const perAxis = (v: GpuView): GpuView => ({ ...v, shape: x.shape, strides: x.shape.map((_, a) => (a === axis ? v.strides[0]! : 0)) });
  return withTemps((temps) => {
    const operands: GpuView[] = [x];
    let body: string;
    if (op === 'layerNorm') {
      const first: GpuView = { ...x, strides: x.strides.map((s, a) => (a === axis ? 0 : s)) };
      const firstOfRow: GpuView = { ...x, shape: kept, strides: x.strides.slice(0, -1) };
      const mean = reduceKernel('rowMean', x, [axis], 'float32', { init: KAHAN_INIT, step: kahanAdd('v - e0'), result: `acc / ${lit(length)}` }, [firstOfRow]);
      temps.push(mean);
      const variance = reduceKernel(
        'rowVar',
        x,
        [axis],
        'float32',
        { init: KAHAN_INIT, step: kahanAdd('((v - e0) - e1) * ((v - e0) - e1)'), result: `acc / ${lit(length)}` },
        [firstOfRow, whole(mean, kept)],
      );
      temps.push(variance);
      operands.push(first, alongAxis(mean, x.shape, axis), alongAxis(variance, x.shape, axis));
      body = `let v = ((a - b) - c) * (1.0 / Math.sqrt(d + ${lit(eps)}));`;
    } else {
      const ms = reduceKernel('rowMeanSquare', x, [axis], 'float32', { init: KAHAN_INIT, step: kahanAdd('v * v'), result: `acc / ${lit(length)}` });
      temps.push(ms);
      operands.push(alongAxis(ms, x.shape, axis));
      body = `let v = a * (1.0 / Math.sqrt(b + ${lit(eps)}));`;
    }
    if (weight) body += `\nv = v * ${OPERANDS[operands.push(perAxis(weight)) - 1]};`;
    if (bias) body += `\nv = v + ${OPERANDS[operands.push(perAxis(bias)) - 1]};`;
    return mapKernel(op, operands, 'float32', { body: `${body}\nreturn v;` }, `${eps}`);
  });
}

function sum(x: GpuView, axes: readonly number[]): GpuBuffer {
  const outSize = sizeOf(x.shape.filter((_, a) => !axes.includes(a)));
  // A sum over nothing is 0 everywhere.
  if (sizeOf(axes.map((a) => x.shape[a]!)) === 0) return fill(x.dtype, outSize, 0);
  return reduceKernel('sum', x, axes, x.dtype, { init: KAHAN_INIT, step: kahanAdd('v'), result: 'acc' });
}

function emptyLike(_x: GpuView): GpuBuffer {
  return launch({ op: 'empty', key: 'empty', inputs: [], size: 0, dtype: 'float32', body: () => '' });
}

/** A host copy of a buffer's view, for a kernel that runs the js reference in place. */
function onHost(op: string, x: GpuView): View<TypedArray> {
  const data = x.handle.host(op);
  if (data instanceof Promise) {
    throw new ValueError('the CPU fallback cannot wait for the device', {
      op,
      expected: 'inputs whose values are on the host (read them with readAsync first), or a sync gpu mode',
      given: `a ${x.dtype} tensor of shape [${x.shape.join(', ')}] still on the device`,
    });
  }
  return { ...x, handle: data.slice() };
}

/** Adam runs the js reference on host copies (counted): it is memory-bound, and js keeps it bit-exact. */
function adamUpdate(param: GpuView, grad: GpuView, expAvg: GpuView, expAvgSq: GpuView, maxExpAvgSq: GpuView | null, scalars: AdamScalars): void {
  countFallback('adamUpdate');
  const [p, g, m, v] = [param, grad, expAvg, expAvgSq].map((x) => onHost('adamUpdate', x)) as [View<TypedArray>, View<TypedArray>, View<TypedArray>, View<TypedArray>];
  const vHat = maxExpAvgSq ? onHost('adamUpdate', maxExpAvgSq) : null;
  jsBackend.kernels.adamUpdate(p, g, m, v, vHat, scalars);
  param.handle.setHost(p.handle);
  expAvg.handle.setHost(m.handle);
  expAvgSq.handle.setHost(v.handle);
  if (maxExpAvgSq && vHat) maxExpAvgSq.handle.setHost(vHat.handle);
}

function table<K extends string, F>(names: readonly K[], make: (name: K) => F): { [P in K]: F } {
  return Object.fromEntries(names.map((n) => [n, make(n)])) as { [P in K]: F };
}

const unaryOps = Object.keys(unarySnippets) as UnaryKernelOp[];
const binaryOps = Object.keys(binarySnippets) as BinaryKernelOp[];
const compareOps = Object.keys(compareSnippets) as CompareKernelOp[];

export const gpuKernels: KernelTable<GpuBuffer> = {
  ...table(unaryOps, (op) => withFallback(op, (x: GpuView) => mapKernel(op, [x], x.dtype, unarySnippets[op]))),
  ...table(binaryOps, (op) => withFallback(op, (a: GpuView, b: GpuView) => mapKernel(op, [a, b], a.dtype, binarySnippets[op]))),
  ...table(compareOps, (op) => withFallback(op, (a: GpuView, b: GpuView) => mapKernel(op, [a, b], 'int32', compareSnippets[op]))),
  sum: withFallback('sum', sum),
  max: withFallback('max', extreme('max')),
  min: withFallback('min', extreme('min')),
  argmax: withFallback('argmax', argExtreme('argmax')),
  argmin: withFallback('argmin', argExtreme('argmin')),
  copy: withFallback('copy', (x, dtype) => mapKernel('copy', [x], dtype, { body: 'return a;' })),
  assign: withFallback('assign', assign),
  fill: withFallback('fill', fill),
  where: withFallback('where', (cond, a, b) => mapKernel('where', [cond, a, b], a.dtype, whereSnippet)),
  clamp: withFallback('clamp', clamp),
  cumsum: withFallback('cumsum', cumsum),
  softmax: withFallback('softmax', softmaxLike('softmax')),
  logSoftmax: withFallback('logSoftmax', softmaxLike('logSoftmax')),
  matmul: withFallback('matmul', matmulKernel),
  gather: withFallback('gather', gather),
  scatterAdd: withFallback('scatterAdd', scatterAdd),
  indexSelect: withFallback('indexSelect', indexSelect),
  indexAdd: withFallback('indexAdd', indexAdd),
  topk: withFallback('topk', topk),
  layerNorm: withFallback('layerNorm', (x, w, b, eps) => normalize('layerNorm', x, w, b, eps)),
  rmsNorm: withFallback('rmsNorm', (x, w, eps) => normalize('rmsNorm', x, w, null, eps)),
  crossEntropy: withFallback('crossEntropy', crossEntropy),
  adamUpdate,
};
