import { adamUpdate } from './adam-kernel.ts';
import type { Backend, BinaryKernelOp, CompareKernelOp, KernelTable, UnaryKernelOp } from '../../backend.ts';
import type { DType } from '../../dtype.ts';
import {
  binaryExprs,
  clampExpr,
  compareExprs,
  identityExpr,
  intClampBounds,
  intClampExpr,
  mapToNew,
  powByScalar,
  runMap,
  toFloatExpr,
  truncExpr,
  unaryExprs,
  whereExpr,
} from './elementwise-kernels.ts';
import { gather, indexAdd, indexSelect, scatterAdd } from './indexing-kernels.ts';
import { matmul } from './matmul.ts';
import { WasmBuffer, wasmMemory } from './memory.ts';
import { reduce } from './reduce-kernels.ts';
import { reference } from './reference-kernels.ts';
import { crossEntropy, layerNorm, rmsNorm, softmaxLike } from './row-kernels.ts';
import { argReduce, cumsum } from './scan-kernels.ts';
import { topk } from './topk-kernel.ts';
import { addressOf, allocElements, checkLive, type WasmView } from './views.ts';

function unary(op: UnaryKernelOp) {
  const fallback = reference(op);
  return (x: WasmView): WasmBuffer => {
    const expr = unaryExprs[op][x.dtype];
    return expr ? mapToNew({ key: `${op}:${x.dtype}`, arity: 1, expr }, x.shape, x.dtype, [x]) : fallback(x);
  };
}

function isScalarBroadcast(x: WasmView): boolean {
  return x.strides.every((s) => s === 0);
}

function binary(op: BinaryKernelOp) {
  const fallback = reference(op);
  return (a: WasmView, b: WasmView): WasmBuffer => {
    const expr = binaryExprs[op][a.dtype];
    if (op === 'pow' && a.dtype === 'float32' && isScalarBroadcast(b)) {
      const exponent = wasmMemory().f32[addressOf(b) >>> 2]!;
      const special = powByScalar(exponent);
      if (special) return mapToNew({ key: `pow${exponent}`, arity: 1, expr: special }, a.shape, a.dtype, [a]);
    }
    return expr ? mapToNew({ key: `${op}:${a.dtype}`, arity: 2, expr }, a.shape, a.dtype, [a, b]) : fallback(a, b);
  };
}

function compare(op: CompareKernelOp) {
  return (a: WasmView, b: WasmView): WasmBuffer =>
    mapToNew({ key: `${op}:${a.dtype}`, arity: 2, expr: compareExprs[op][a.dtype] }, a.shape, 'int32', [a, b]);
}

function copy(x: WasmView, dtype: DType): WasmBuffer {
  const expr = x.dtype === dtype ? identityExpr : dtype === 'int32' ? truncExpr : toFloatExpr;
  return mapToNew({ key: `copy:${x.dtype}:${dtype}`, arity: 1, expr }, x.shape, dtype, [x]);
}

const clampReference = reference('clamp');

function clamp(x: WasmView, min: number, max: number): WasmBuffer {
  if (x.dtype === 'float32') return mapToNew({ key: 'clamp', arity: 1, params: 2, expr: clampExpr }, x.shape, x.dtype, [x], [min, max]);
  const bounds = intClampBounds(min, max);
  return bounds ? mapToNew({ key: 'clamp:int32', arity: 1, params: 2, intParams: true, expr: intClampExpr }, x.shape, x.dtype, [x], bounds) : clampReference(x, min, max);
}

const unaryKernels = Object.fromEntries(Object.keys(unaryExprs).map((op) => [op, unary(op as UnaryKernelOp)])) as {
  [K in UnaryKernelOp]: (x: WasmView) => WasmBuffer;
};
const binaryKernels = Object.fromEntries(Object.keys(binaryExprs).map((op) => [op, binary(op as BinaryKernelOp)])) as {
  [K in BinaryKernelOp]: (a: WasmView, b: WasmView) => WasmBuffer;
};
const compareKernels = Object.fromEntries(Object.keys(compareExprs).map((op) => [op, compare(op as CompareKernelOp)])) as {
  [K in CompareKernelOp]: (a: WasmView, b: WasmView) => WasmBuffer;
};

const rawKernels: KernelTable<WasmBuffer> = {
  ...unaryKernels,
  ...binaryKernels,
  ...compareKernels,
  sum: reduce('sum'),
  max: reduce('max'),
  min: reduce('min'),
  argmax: argReduce('argmax'),
  argmin: argReduce('argmin'),
  copy,
  assign: (dst, src) => runMap({ key: 'assign', arity: 1, expr: identityExpr }, dst, [src]),
  fill: (dtype, size, value) => {
    const out = allocElements(size);
    const memory = wasmMemory();
    const start = out.ptr >>> 2;
    (dtype === 'float32' ? memory.f32 : memory.i32).fill(value, start, start + size);
    return out;
  },
  where: (cond, a, b) => mapToNew({ key: `where:${cond.dtype}`, arity: 3, expr: whereExpr(cond.dtype) }, a.shape, a.dtype, [cond, a, b]),
  clamp,
  cumsum,
  softmax: softmaxLike('softmax'),
  logSoftmax: softmaxLike('logSoftmax'),
  matmul,
  gather,
  scatterAdd,
  indexSelect,
  indexAdd,
  topk,
  layerNorm,
  rmsNorm,
  crossEntropy,
  adamUpdate,
};

/** Every kernel call starts a new epoch: the buffers it touches cannot be spilled while it runs. */
const kernels = Object.fromEntries(
  Object.entries(rawKernels).map(([name, kernel]) => [
    name,
    (...args: unknown[]) => {
      wasmMemory().beginKernel();
      return (kernel as (...a: unknown[]) => unknown)(...args);
    },
  ]),
) as unknown as KernelTable<WasmBuffer>;

/**
 * The WebAssembly backend: buffers live in one WebAssembly.Memory, and kernels are SIMD
 * WebAssembly generated at run time by the emitter in this folder, compiled once per shape
 * class. Kernels without generated code run the js reference over views of wasm memory.
 */
export const wasmBackend: Backend<WasmBuffer> = {
  name: 'wasm',
  allocate: (_dtype, size) => {
    const out = allocElements(size);
    wasmMemory().u8.fill(0, out.ptr, out.ptr + size * 4);
    return out;
  },
  write: (handle, data) => {
    const memory = wasmMemory();
    memory.beginKernel();
    (data instanceof Float32Array ? memory.f32 : memory.i32).set(data, checkLive(handle) >>> 2);
  },
  read: (handle, dtype) => {
    const memory = wasmMemory();
    memory.beginKernel();
    const start = checkLive(handle) >>> 2;
    return (dtype === 'float32' ? memory.f32 : memory.i32).slice(start, start + (handle.bytes >>> 2));
  },
  dispose: (handle) => wasmMemory().free(handle),
  kernels,
};

export { WasmBuffer };
export { hasRelaxedSimd, hasWasmSimd } from './features.ts';
export { keep, tidy, wasmMemoryStats } from './scope.ts';
export { setWasmThreads, wasmThreads } from './thread-pool.ts';
