import { sizeOf } from '../../shape.ts';
import type { GpuBuffer } from './buffer.ts';
import { lit, offsetExpr, splitIndex } from './codegen.ts';
import { DeviceDecline, type GpuView, argsOf, launch, viewKey } from './kernel-factory.ts';
import { rowMax, rowSumExp, whole, withTemps } from './row-stats.ts';

// Index kernels in gather form: every output element finds what it needs, since a fragment
// shader cannot scatter. Scatter-adds loop over the index entries that may land on them.

/** Indices the device cannot range-check: when they are on the host, check them there (the js reference then raises the error). */
function checkIndices(index: GpuView, bound: number): void {
  if (!index.handle.hasHost) return;
  const data = index.handle.host('index') as Int32Array;
  for (const v of data) if (!(v >= 0 && v < bound)) throw new DeviceDecline('index out of range');
}

/** Largest row the O(length²) topk ranking takes on the device. */
const TOPK_MAX_LENGTH = 4096;

export function gather(x: GpuView, axis: number, index: GpuView): GpuBuffer {
  checkIndices(index, x.shape[axis] ?? 1);
  const { inputs, names } = argsOf([x, index]);
  return launch({
    op: 'gather',
    key: `gather:${axis}:${viewKey(x)};${viewKey(index)}`,
    inputs,
    size: sizeOf(index.shape),
    dtype: x.dtype,
    body: () =>
      [
        splitIndex('i', index.shape, 'c'),
        `const t = ${names[1]}[${offsetExpr(index.shape, index.strides, index.offset, (a) => `c${a}`)}];`,
        `return ${names[0]}[${offsetExpr(x.shape.map((d, a) => (a === axis ? 2 : d)), x.strides, x.offset, (a) => (a === axis ? 't' : `c${a}`))}];`,
      ].join('\n'),
  });
}

export function scatterAdd(base: GpuView, axis: number, index: GpuView, src: GpuView): GpuBuffer {
  checkIndices(index, base.shape[axis] ?? 1);
  const picks = index.shape[axis] ?? 1;
  const { inputs, names } = argsOf([base, index, src]);
  // Output positions beyond index's extent in another axis receive nothing.
  const outside = base.shape.flatMap((d, a) => (a !== axis && index.shape[a]! < d ? [`c${a} > ${lit(index.shape[a]! - 1)}`] : []));
  const withJ = (v: GpuView) => offsetExpr(index.shape.map((d, a) => (a === axis ? 2 : d)), v.strides, v.offset, (a) => (a === axis ? 'j' : `c${a}`));
  return launch({
    op: 'scatterAdd',
    key: `scatterAdd:${axis}:${viewKey(base)};${viewKey(index)};${viewKey(src)}`,
    inputs,
    size: sizeOf(base.shape),
    dtype: base.dtype,
    helpers: ['toInt'],
    body: () =>
      [
        splitIndex('i', base.shape, 'c'),
        `let acc = ${names[0]}[${offsetExpr(base.shape, base.strides, base.offset, (a) => `c${a}`)}];`,
        outside.length > 0 ? `if (${outside.join(' || ')}) { return acc; }` : '',
        `for (let jj = 0; jj < ${picks}; jj++) {`,
        'const j = jj * 1.0;',
        `if (${names[1]}[${withJ(index)}] === c${axis}) { acc = acc + ${names[2]}[${withJ(src)}]; }`,
        '}',
        base.dtype === 'int32' ? 'return toInt(acc);' : 'return acc;',
      ].join('\n'),
  });
}

export function indexSelect(x: GpuView, axis: number, index: GpuView): GpuBuffer {
  checkIndices(index, x.shape[axis]!);
  const outShape = x.shape.map((d, a) => (a === axis ? sizeOf(index.shape) : d));
  const { inputs, names } = argsOf([x, index]);
  return launch({
    op: 'indexSelect',
    key: `indexSelect:${axis}:${viewKey(x)};${viewKey(index)}`,
    inputs,
    size: sizeOf(outShape),
    dtype: x.dtype,
    body: () =>
      [
        splitIndex('i', outShape, 'c'),
        `const t = ${names[1]}[${lit(index.offset)} + c${axis} * ${lit(index.strides[0] ?? 1)}];`,
        `return ${names[0]}[${offsetExpr(x.shape.map((d, a) => (a === axis ? 2 : d)), x.strides, x.offset, (a) => (a === axis ? 't' : `c${a}`))}];`,
      ].join('\n'),
  });
}

export function indexAdd(base: GpuView, axis: number, index: GpuView, src: GpuView): GpuBuffer {
  checkIndices(index, base.shape[axis]!);
  const picks = sizeOf(index.shape);
  const { inputs, names } = argsOf([base, index, src]);
  return launch({
    op: 'indexAdd',
    key: `indexAdd:${axis}:${viewKey(base)};${viewKey(index)};${viewKey(src)}`,
    inputs,
    size: sizeOf(base.shape),
    dtype: base.dtype,
    helpers: ['toInt'],
    body: () =>
      [
        splitIndex('i', base.shape, 'c'),
        `let acc = ${names[0]}[${offsetExpr(base.shape, base.strides, base.offset, (a) => `c${a}`)}];`,
        `for (let pp = 0; pp < ${picks}; pp++) {`,
        'const p = pp * 1.0;',
        `if (${names[1]}[${lit(index.offset)} + p * ${lit(index.strides[0] ?? 1)}] === c${axis}) {`,
        `acc = acc + ${names[2]}[${offsetExpr(src.shape.map((d, a) => (a === axis ? 2 : d)), src.strides, src.offset, (a) => (a === axis ? 'p' : `c${a}`))}];`,
        '}',
        '}',
        base.dtype === 'int32' ? 'return toInt(acc);' : 'return acc;',
      ].join('\n'),
  });
}

/**
 * topk in two passes: each element's rank in its row (how many elements beat it; NaN and +Inf
 * rank as largest, ties go to the lower index), then each output slot finds the element of its rank.
 */
export function topk(x: GpuView, k: number, largest: boolean): GpuBuffer {
  const axis = x.shape.length - 1;
  const length = x.shape[axis] ?? 1;
  if (length > TOPK_MAX_LENGTH) throw new DeviceDecline(`rows longer than ${TOPK_MAX_LENGTH}`);
  const rowOffset = offsetExpr(x.shape, x.strides, x.offset, (a) => (a === axis ? '0.0' : `c${a}`));
  const key = (v: string) => `((${v} !== ${v} || ${v} > 3.4028234e38) ? 3.4028234e38 : ${v})`;
  const beats = largest ? '(kj > ke || (kj === ke && j < ce))' : '(kj < ke || (kj === ke && j < ce))';
  const { inputs, names } = argsOf([x]);
  const ranks = launch({
    op: 'topk',
    key: `topkRank:${largest}:${viewKey(x)}`,
    inputs,
    size: sizeOf(x.shape),
    dtype: 'float32',
    body: () =>
      [
        splitIndex('i', x.shape, 'c'),
        `const row = ${rowOffset};`,
        `const ce = c${axis};`,
        `const ve = ${names[0]}[row + ce * ${lit(x.strides[axis] ?? 1)}];`,
        `const ke = ${key('ve')};`,
        'let rank = 0.0;',
        `for (let jj = 0; jj < ${length}; jj++) {`,
        'const j = jj * 1.0;',
        `const vj = ${names[0]}[row + j * ${lit(x.strides[axis] ?? 1)}];`,
        `const kj = ${key('vj')};`,
        `if (${beats}) { rank = rank + 1.0; }`,
        '}',
        'return rank;',
      ].join('\n'),
  });
  try {
    const outShape = [...x.shape.slice(0, -1), k];
    const rows = sizeOf(x.shape.slice(0, -1));
    return launch({
      op: 'topk',
      key: `topkSelect:${k}:${length}:${rows}`,
      inputs: [ranks],
      size: sizeOf(outShape),
      dtype: 'int32',
      body: () =>
        [
          splitIndex('i', [rows, k], 'c'),
          'let found = 0.0;',
          `for (let jj = 0; jj < ${length}; jj++) {`,
          'const j = jj * 1.0;',
          `if (x0[c0 * ${lit(length)} + j] === c1) { found = j; }`,
          '}',
          'return found;',
        ].join('\n'),
    });
  } finally {
    ranks.free();
  }
}

/** Per-row loss: log Σ exp(logits - max) + max - logits[target], or 0 where the target is ignoreIndex. */
export function crossEntropy(logits: GpuView, targets: GpuView, ignoreIndex: number): GpuBuffer {
  const [rows, classes] = logits.shape as [number, number];
  if (classes === 0) throw new DeviceDecline('no classes');
  return withTemps((temps) => {
    const m = rowMax(logits, 1);
    temps.push(m);
    const s = rowSumExp(logits, 1, m);
    temps.push(s);
    const { inputs, names } = argsOf([logits, targets, whole(m, [rows]), whole(s, [rows])]);
    return launch({
      op: 'crossEntropy',
      key: `crossEntropy:${ignoreIndex}:${viewKey(logits)};${viewKey(targets)}`,
      inputs,
      size: rows,
      dtype: 'float32',
      body: () =>
        [
          `const t = ${names[1]}[${lit(targets.offset)} + i * ${lit(targets.strides[0] ?? 1)}];`,
          `if (t === ${lit(ignoreIndex)}) { return 0.0; }`,
          `return Math.log(${names[3]}[i]) + ${names[2]}[i] - ${names[0]}[${lit(logits.offset)} + i * ${lit(logits.strides[0]!)} + t * ${lit(logits.strides[1]!)}];`,
        ].join('\n'),
    });
  });
}
