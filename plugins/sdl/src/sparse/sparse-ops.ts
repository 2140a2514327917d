import { ShapeError, type Tensor, formatShape, tensor } from '@glassbox/tensor';
import { customOp } from './custom-op.ts';
import { gatherSelected, type SelectedEntries, type SparseSelection } from './selection.ts';
import { vectorKernels } from './vector-kernels.ts';

/**
 * Sparse kernels for the TopK family. Each costs O(nnz · d) forward and backward, where
 * nnz ≈ batch · k, instead of the O(batch · d_sae · d) of a dense product, and each takes part in
 * autograd through customOp. They touch only the active rows of the decoder and the active
 * columns of the encoder; the dense gradient buffers they return are zero elsewhere.
 */

function f32(t: Tensor): Float32Array {
  return t.data() as Float32Array;
}

function check(op: string, arg: string, t: Tensor, shape: readonly number[]): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError('wrong shape', { op, arg, expected: formatShape(shape), given: formatShape(t.shape) });
  }
}

/** A [rows, cols] row-major matrix transposed into [cols, rows], in 32×32 tiles. */
export function transposeMatrix(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(r0 + tile, rows);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(c0 + tile, cols);
      for (let r = r0; r < r1; r++) {
        const rowBase = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[rowBase + c]!;
      }
    }
  }
  return out;
}

/**
 * values[e] = x[row(e)] · W[:, col(e)] + b[col(e)] for each selected entry: the encoder's
 * pre-activations, only where the selection is active. When they are already known, the forward
 * pass only takes them: pass the selection with its values (topKEntries gives both), or the dense
 * pre-activations the selection was made from.
 * x [batch, d_in], W [d_in, d_sae], b [d_sae] or null, pre [batch, d_sae]. // -> [nnz]
 */
export function sparseAffine(x: Tensor, W: Tensor, b: Tensor | null, selected: SparseSelection | SelectedEntries, pre?: Float32Array): Tensor {
  const selection = 'selection' in selected ? selected.selection : selected;
  const [batch, dIn] = [selection.batch, W.shape[0]!];
  const width = selection.width;
  check('sparseAffine', 'x', x, [batch, dIn]);
  check('sparseAffine', 'W', W, [dIn, width]);
  if (b) check('sparseAffine', 'b', b, [width]);
  const { rowPtr, cols } = selection;
  let values: Float32Array;
  if ('values' in selected) {
    if (selected.values.length !== cols.length) {
      throw new ShapeError('one value per entry', { op: 'sparseAffine', arg: 'selected', expected: `[${cols.length}]`, given: `[${selected.values.length}]` });
    }
    values = selected.values;
  } else if (pre) {
    values = gatherSelected(pre, selection);
  } else {
    const xs = f32(x);
    const ws = f32(W);
    const bs = b ? f32(b) : null;
    values = new Float32Array(cols.length);
    for (let r = 0; r < batch; r++) {
      const xBase = r * dIn;
      for (let e = rowPtr[r]!; e < rowPtr[r + 1]!; e++) {
        const c = cols[e]!;
        let s = bs ? bs[c]! : 0;
        for (let i = 0; i < dIn; i++) s += xs[xBase + i]! * ws[i * width + c]!;
        values[e] = s;
      }
    }
  }
  const out = tensor(values, { shape: [cols.length], backend: x.backend });
  return customOp(b ? [x, W, b] : [x, W], out, (grad) => {
    const g = f32(grad);
    const dx = x.requiresGrad ? tensor(rowAxpys(g, selection, transposeMatrix(f32(W), dIn, width), dIn, 'byRow'), { shape: [batch, dIn], backend: x.backend }) : null;
    // Accumulated as rows of Wᵀ, so each entry adds one contiguous run of x.
    const dW = W.requiresGrad
      ? tensor(transposeMatrix(rowAxpys(g, selection, f32(x), dIn, 'byLatent'), width, dIn), { shape: [dIn, width], backend: W.backend })
      : null;
    let db: Tensor | null = null;
    if (b?.requiresGrad) {
      const dbs = new Float32Array(width);
      for (let e = 0; e < cols.length; e++) dbs[cols[e]!] = dbs[cols[e]!]! + g[e]!;
      db = tensor(dbs, { shape: [width], backend: b.backend });
    }
    return [dx, dW, db];
  });
}

/**
 * Sums over the selected entries of coefficient × a row of `source`: 'byRow' adds source row
 * col(e) into output row row(e) ([batch, d] out of [width, d]); 'byLatent' adds source row row(e)
 * into output row col(e) ([width, d] out of [batch, d]). One SIMD axpy per nonzero entry.
 */
function rowAxpys(coefficients: Float32Array, selection: SparseSelection, source: Float32Array, d: number, mode: 'byRow' | 'byLatent'): Float32Array {
  const { batch, width, rowPtr, cols } = selection;
  const outRows = mode === 'byRow' ? batch : width;
  const k = vectorKernels();
  const [src, dst] = [0, source.length];
  k.reserve(source.length + outRows * d);
  k.f32.set(source, src);
  k.f32.fill(0, dst, dst + outRows * d);
  const byRow = mode === 'byRow';
  for (let r = 0; r < batch; r++) {
    for (let e = rowPtr[r]!; e < rowPtr[r + 1]!; e++) {
      const c = coefficients[e]!;
      if (c !== 0) k.axpy(dst + (byRow ? r : cols[e]!) * d, src + (byRow ? cols[e]! : r) * d, c, d);
    }
  }
  return k.f32.slice(dst, dst + outRows * d);
}

/**
 * out[r] = Σ_e values[e] · W[col(e)] over row r's entries: a decoder product that reads only the
 * active rows of W [d_sae, d_out]. values [nnz]. // -> [batch, d_out]
 */
export function sparseDecode(values: Tensor, W: Tensor, selection: SparseSelection): Tensor {
  const { batch, width, rowPtr, cols } = selection;
  const dOut = W.shape[1]!;
  check('sparseDecode', 'values', values, [cols.length]);
  check('sparseDecode', 'W', W, [width, dOut]);
  const out = tensor(rowAxpys(f32(values), selection, f32(W), dOut, 'byRow'), { shape: [batch, dOut], backend: W.backend });
  return customOp([values, W], out, (grad) => {
    const vs = f32(values);
    const dvs = values.requiresGrad ? new Float32Array(cols.length) : null;
    const needW = W.requiresGrad;
    // One pass: the value gradient and the decoder-row gradient read the same rows of g and W.
    const k = vectorKernels();
    const [g, w, dw] = [0, batch * dOut, (batch + width) * dOut];
    k.reserve((batch + width * (needW ? 2 : 1)) * dOut);
    k.f32.set(f32(grad), g);
    k.f32.set(f32(W), w);
    if (needW) k.f32.fill(0, dw, dw + width * dOut);
    for (let r = 0; r < batch; r++) {
      for (let e = rowPtr[r]!; e < rowPtr[r + 1]!; e++) {
        const row = cols[e]! * dOut;
        if (dvs) dvs[e] = k.dot(g + r * dOut, w + row, dOut);
        if (needW && vs[e] !== 0) k.axpy(dw + row, g + r * dOut, vs[e]!, dOut);
      }
    }
    const dv = dvs ? tensor(dvs, { shape: [cols.length], backend: values.backend }) : null;
    const dW = needW ? tensor(k.f32.slice(dw, dw + width * dOut), { shape: [width, dOut], backend: W.backend }) : null;
    return [dv, dW];
  });
}

/** Scatters [nnz] values into a dense [batch, width] latent matrix, zero elsewhere. */
export function sparseToDense(values: Tensor, selection: SparseSelection): Tensor {
  const { batch, width, rowPtr, cols } = selection;
  check('sparseToDense', 'values', values, [cols.length]);
  const vs = f32(values);
  const dense = new Float32Array(batch * width);
  for (let r = 0; r < batch; r++) for (let e = rowPtr[r]!; e < rowPtr[r + 1]!; e++) dense[r * width + cols[e]!] = vs[e]!;
  const out = tensor(dense, { shape: [batch, width], backend: values.backend });
  return customOp([values], out, (grad) => [tensor(gatherSelected(f32(grad), selection), { shape: [cols.length], backend: values.backend })]);
}
