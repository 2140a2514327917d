import { ShapeError, type Tensor, formatShape, tensor } from '@glassbox/tensor';
import { customOp } from './custom-op.ts';
import { gatherSelected, type SparseSelection } from './selection.ts';

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
 * pre-activations, only where the selection is active. Pass the dense pre-activations when they
 * are already computed (the selection needed them), so the forward pass is a gather.
 * x [batch, d_in], W [d_in, d_sae], b [d_sae] or null, pre [batch, d_sae]. // -> [nnz]
 */
export function sparseAffine(x: Tensor, W: Tensor, b: Tensor | null, selection: SparseSelection, pre?: Float32Array): Tensor {
  const [batch, dIn] = [selection.batch, W.shape[0]!];
  const width = selection.width;
  check('sparseAffine', 'x', x, [batch, dIn]);
  check('sparseAffine', 'W', W, [dIn, width]);
  if (b) check('sparseAffine', 'b', b, [width]);
  const { rowPtr, cols } = selection;
  let values: Float32Array;
  if (pre) {
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
    // With fewer active entries than latents, strided access to W's columns beats transposing W.
    const strided = cols.length < width;
    const needX = x.requiresGrad;
    const needW = W.requiresGrad;
    // One pass over the entries feeds both gradients: each touches the same rows of x and W.
    const ws = needX ? f32(W) : null;
    const wt = ws && !strided ? transposeMatrix(ws, dIn, width) : ws;
    const xs = needW ? f32(x) : null;
    const dxs = needX ? new Float32Array(batch * dIn) : null;
    // Strided: accumulate straight into W's [d_in, d_sae] layout; else into rows of Wᵀ.
    const acc = needW ? new Float32Array(width * dIn) : null;
    if (dxs || acc) {
      for (let r = 0; r < batch; r++) {
        const xBase = r * dIn;
        for (let e = rowPtr[r]!; e < rowPtr[r + 1]!; e++) {
          const ge = g[e]!;
          if (ge === 0) continue;
          const c = cols[e]!;
          const [start, step] = strided ? [c, width] : [c * dIn, 1];
          if (dxs && acc) {
            for (let i = 0, w = start; i < dIn; i++, w += step) {
              dxs[xBase + i] = dxs[xBase + i]! + ge * wt![w]!;
              acc[w] = acc[w]! + ge * xs![xBase + i]!;
            }
          } else if (dxs) {
            for (let i = 0, w = start; i < dIn; i++, w += step) dxs[xBase + i] = dxs[xBase + i]! + ge * wt![w]!;
          } else if (acc) {
            for (let i = 0, w = start; i < dIn; i++, w += step) acc[w] = acc[w]! + ge * xs![xBase + i]!;
          }
        }
      }
    }
    const dx = dxs ? tensor(dxs, { shape: [batch, dIn], backend: x.backend }) : null;
    const dW = acc ? tensor(strided ? acc : transposeMatrix(acc, width, dIn), { shape: [dIn, width], backend: W.backend }) : null;
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
 * out[r] = Σ_e values[e] · W[col(e)] over row r's entries: a decoder product that reads only the
 * active rows of W [d_sae, d_out]. values [nnz]. // -> [batch, d_out]
 */
export function sparseDecode(values: Tensor, W: Tensor, selection: SparseSelection): Tensor {
  const { batch, width, rowPtr, cols } = selection;
  const dOut = W.shape[1]!;
  check('sparseDecode', 'values', values, [cols.length]);
  check('sparseDecode', 'W', W, [width, dOut]);
  const vs = f32(values);
  const ws = f32(W);
  const outs = new Float32Array(batch * dOut);
  for (let r = 0; r < batch; r++) {
    const oBase = r * dOut;
    for (let e = rowPtr[r]!; e < rowPtr[r + 1]!; e++) {
      const v = vs[e]!;
      if (v === 0) continue;
      const wBase = cols[e]! * dOut;
      for (let i = 0; i < dOut; i++) outs[oBase + i] = outs[oBase + i]! + v * ws[wBase + i]!;
    }
  }
  const out = tensor(outs, { shape: [batch, dOut], backend: W.backend });
  return customOp([values, W], out, (grad) => {
    const g = f32(grad);
    const dvs = values.requiresGrad ? new Float32Array(cols.length) : null;
    const dws = W.requiresGrad ? new Float32Array(width * dOut) : null;
    // One pass: the value gradient and the decoder-row gradient read the same rows of g and W.
    for (let r = 0; r < batch; r++) {
      const gBase = r * dOut;
      for (let e = rowPtr[r]!; e < rowPtr[r + 1]!; e++) {
        const wBase = cols[e]! * dOut;
        const v = vs[e]!;
        if (dvs && dws) {
          let s = 0;
          for (let i = 0; i < dOut; i++) {
            const gi = g[gBase + i]!;
            s += gi * ws[wBase + i]!;
            dws[wBase + i] = dws[wBase + i]! + v * gi;
          }
          dvs[e] = s;
        } else if (dvs) {
          let s = 0;
          for (let i = 0; i < dOut; i++) s += g[gBase + i]! * ws[wBase + i]!;
          dvs[e] = s;
        } else if (dws && v !== 0) {
          for (let i = 0; i < dOut; i++) dws[wBase + i] = dws[wBase + i]! + v * g[gBase + i]!;
        }
      }
    }
    const dv = dvs ? tensor(dvs, { shape: [cols.length], backend: values.backend }) : null;
    const dW = dws ? tensor(dws, { shape: [width, dOut], backend: W.backend }) : null;
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
