import { ShapeError, type Tensor, ValueError, add, formatShape, noGrad, tensor, tidy, topk } from '@glassbox/tensor';

/**
 * Which latents are active in a batch, in compressed-row form: the active latents of row r are
 * `cols[rowPtr[r] .. rowPtr[r + 1])`, in increasing latent order. Values live in a separate
 * [nnz] tensor, so one selection serves the encoder, the decoder and the auxiliary losses.
 */
export interface SparseSelection {
  /** Rows (tokens) in the batch. */
  readonly batch: number;
  /** Latents per row (d_sae). */
  readonly width: number;
  /** [batch + 1] offsets into cols. */
  readonly rowPtr: Int32Array;
  /** [nnz] latent index of each active entry. */
  readonly cols: Int32Array;
}

/** A selection with the value of each of its entries, in the same order as its cols. */
export interface SelectedEntries {
  readonly selection: SparseSelection;
  /** [nnz] */
  readonly values: Float32Array;
}

export function nnz(selection: SparseSelection): number {
  return selection.cols.length;
}

/** The row of each entry, expanded from rowPtr. // [nnz] */
export function selectionRows(selection: SparseSelection): Int32Array {
  const rows = new Int32Array(selection.cols.length);
  for (let r = 0; r < selection.batch; r++) rows.fill(r, selection.rowPtr[r]!, selection.rowPtr[r + 1]!);
  return rows;
}

/** How many rows each latent is active in. // [width] */
export function latentCounts(selection: SparseSelection): Int32Array {
  const counts = new Int32Array(selection.width);
  for (const c of selection.cols) counts[c]!++;
  return counts;
}

function checkK(op: string, k: number, width: number): void {
  if (!Number.isInteger(k) || k < 0 || k > width) {
    throw new ValueError('k out of range', { op, arg: 'k', expected: `an integer in [0, ${width}]`, given: String(k) });
  }
}

/** True when (va, ia) ranks above (vb, ib): larger value first, lower index on ties. */
function ranksAbove(va: number, ia: number, vb: number, ib: number): boolean {
  return va > vb || (va === vb && ia < ib);
}

/**
 * A k-slot min-heap of (value, index) whose root is the lowest-ranked entry kept: the top k of a
 * stream of strictly positive values, at O(log k) per entry that gets in.
 */
class TopKHeap {
  readonly values: Float64Array;
  readonly index: Int32Array;
  size = 0;
  /** The root's value once full: anything below it is rejected without touching the heap. */
  floor = Number.POSITIVE_INFINITY;

  constructor(readonly k: number) {
    this.values = new Float64Array(k);
    this.index = new Int32Array(k);
  }

  reset(): void {
    this.size = 0;
    this.floor = Number.POSITIVE_INFINITY;
  }

  offer(v: number, j: number): void {
    const { k, values, index } = this;
    if (!(v > 0) || (this.size === k && v < this.floor)) return;
    if (this.size < k) {
      // Sift up: the root holds the lowest-ranked entry.
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!ranksAbove(values[parent]!, index[parent]!, v, j)) break;
        values[i] = values[parent]!;
        index[i] = index[parent]!;
        i = parent;
      }
      values[i] = v;
      index[i] = j;
      if (this.size === k) this.floor = values[0]!;
    } else if (k > 0 && ranksAbove(v, j, values[0]!, index[0]!)) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= k) break;
        const right = left + 1;
        let child = left;
        if (right < k && ranksAbove(values[left]!, index[left]!, values[right]!, index[right]!)) child = right;
        if (!ranksAbove(v, j, values[child]!, index[child]!)) break;
        values[i] = values[child]!;
        index[i] = index[child]!;
        i = child;
      }
      values[i] = v;
      index[i] = j;
      this.floor = values[0]!;
    }
  }
}

/**
 * Per row, the k largest strictly positive entries of `values` [batch, width] (ties to the lower
 * index), optionally only among latents where `allowed` is nonzero. Nonpositive entries are never
 * selected, so ReLU(TopK(x)) is exactly the selected values. A k-slot min-heap per row keeps the
 * cost at O(width · log k). For values already in a tensor, topKEntries does the same without
 * reading the dense array out.
 */
export function selectTopK(values: Float32Array, batch: number, width: number, k: number, allowed?: Uint8Array): SparseSelection {
  checkK('selectTopK', k, width);
  const heap = new TopKHeap(k);
  const rowPtr = new Int32Array(batch + 1);
  const cols = new Int32Array(batch * k);
  let n = 0;
  for (let r = 0; r < batch; r++) {
    const base = r * width;
    heap.reset();
    for (let j = 0; j < width; j++) if (allowed?.[j] !== 0) heap.offer(values[base + j]!, j);
    const row = heap.index.subarray(0, heap.size).sort();
    cols.set(row, n);
    n += row.length;
    rowPtr[r + 1] = n;
  }
  return { batch, width, rowPtr, cols: n === cols.length ? cols : cols.slice(0, n) };
}

/**
 * selectTopK on a [batch, width] tensor, with its values: the backend's topk kernel ranks each row
 * where the tensor lives, so only the k best of a row are read back, and of those the strictly
 * positive ones are kept, in latent order. With `allowed`, the other latents are first pushed to −∞.
 * The kernel ranks NaN first, so a row holding NaNs may keep fewer than k (selectTopK skips them).
 */
export function topKEntries(pre: Tensor, k: number, allowed?: Uint8Array): SelectedEntries {
  if (pre.rank !== 2) throw new ShapeError('expected a matrix', { op: 'topKEntries', arg: 'pre', expected: '[batch, width]', given: formatShape(pre.shape) });
  const [batch, width] = pre.shape as [number, number];
  checkK('topKEntries', k, width);
  if (allowed && allowed.length !== width) {
    throw new ShapeError('mask length differs from the width', { op: 'topKEntries', arg: 'allowed', expected: `[${width}]`, given: `[${allowed.length}]` });
  }
  // tidy frees the masked copy and the kernel's outputs as soon as they are read.
  const [best, at] = tidy(() =>
    noGrad(() => {
      const scores = allowed ? add(pre, tensor(Float32Array.from(allowed, (a) => (a ? 0 : Number.NEGATIVE_INFINITY)), { shape: [width], backend: pre.backend })) : pre;
      const { values, indices } = topk(scores, k);
      return [values.data() as Float32Array, indices.data() as Int32Array] as const;
    }),
  );
  const rowPtr = new Int32Array(batch + 1);
  const cols = new Int32Array(batch * k);
  const values = new Float32Array(batch * k);
  let n = 0;
  for (let r = 0; r < batch; r++) {
    const start = n;
    for (let e = r * k; e < (r + 1) * k; e++) {
      const v = best[e]!;
      if (!(v > 0)) continue;
      // Insertion into latent order: rows hold at most k entries.
      const c = at[e]!;
      let i = n++;
      for (; i > start && cols[i - 1]! > c; i--) {
        cols[i] = cols[i - 1]!;
        values[i] = values[i - 1]!;
      }
      cols[i] = c;
      values[i] = v;
    }
    rowPtr[r + 1] = n;
  }
  const full = n === cols.length;
  return { selection: { batch, width, rowPtr, cols: full ? cols : cols.slice(0, n) }, values: full ? values : values.slice(0, n) };
}

/** The n-th largest value (0-based) of `data`, rearranging it: a quickselect with median-of-three pivots. */
function nthLargest(data: Float32Array, n: number): number {
  let lo = 0;
  let hi = data.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const a = data[lo]!;
    const b = data[mid]!;
    const c = data[hi]!;
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (data[i]! > pivot) i++;
      while (data[j]! < pivot) j--;
      if (i <= j) {
        const t = data[i]!;
        data[i] = data[j]!;
        data[j] = t;
        i++;
        j--;
      }
    }
    if (n <= j) hi = j;
    else if (n >= i) lo = i;
    else return data[n]!;
  }
  return data[lo]!;
}

/**
 * The `total` largest strictly positive entries of the whole batch [batch, width] (BatchTopK):
 * rows may get more or fewer than total / batch. Ties at the cut go to earlier rows, then lower
 * latents. Linear time on average.
 */
export function selectBatchTopK(values: Float32Array, batch: number, width: number, total: number): SparseSelection {
  if (!Number.isInteger(total) || total < 0) {
    throw new ValueError('total out of range', { op: 'selectBatchTopK', arg: 'total', expected: 'a non-negative integer', given: String(total) });
  }
  const size = batch * width;
  let positives = 0;
  for (let i = 0; i < size; i++) if (values[i]! > 0) positives++;
  let cut = 0;
  let atCut = Number.POSITIVE_INFINITY;
  if (positives > total) {
    const scratch = new Float32Array(positives);
    let p = 0;
    for (let i = 0; i < size; i++) if (values[i]! > 0) scratch[p++] = values[i]!;
    cut = total > 0 ? nthLargest(scratch, total - 1) : Number.POSITIVE_INFINITY;
    // Entries equal to the cut are taken in order until the total is reached.
    let above = 0;
    for (let i = 0; i < size; i++) if (values[i]! > cut) above++;
    atCut = total - above;
  }
  const rowPtr = new Int32Array(batch + 1);
  const cols = new Int32Array(Math.min(total, positives));
  let n = 0;
  for (let r = 0; r < batch; r++) {
    const base = r * width;
    for (let j = 0; j < width; j++) {
      const v = values[base + j]!;
      if (!(v > 0)) continue;
      if (v > cut || (v === cut && atCut-- > 0)) cols[n++] = j;
    }
    rowPtr[r + 1] = n;
  }
  return { batch, width, rowPtr, cols };
}

/** Entries strictly above a per-latent threshold [width] (or one scalar) and above zero: JumpReLU-style inference. */
export function selectAbove(values: Float32Array, batch: number, width: number, threshold: Float32Array | number): SparseSelection {
  const rowPtr = new Int32Array(batch + 1);
  const chosen: number[] = [];
  for (let r = 0; r < batch; r++) {
    const base = r * width;
    for (let j = 0; j < width; j++) {
      const t = typeof threshold === 'number' ? threshold : threshold[j]!;
      const v = values[base + j]!;
      if (v > 0 && v > t) chosen.push(j);
    }
    rowPtr[r + 1] = chosen.length;
  }
  return { batch, width, rowPtr, cols: Int32Array.from(chosen) };
}

/** The selected entries of a dense [batch, width] array. // [nnz] */
export function gatherSelected(values: Float32Array, selection: SparseSelection): Float32Array {
  const out = new Float32Array(selection.cols.length);
  for (let r = 0; r < selection.batch; r++) {
    const base = r * selection.width;
    for (let e = selection.rowPtr[r]!; e < selection.rowPtr[r + 1]!; e++) out[e] = values[base + selection.cols[e]!]!;
  }
  return out;
}

/** Keeps the entries whose latent lies in [from, to): one group of a Matryoshka dictionary. Returns the sub-selection and each kept entry's position in the parent. */
export function restrictToLatents(selection: SparseSelection, from: number, to: number): { selection: SparseSelection; positions: Int32Array } {
  const rowPtr = new Int32Array(selection.batch + 1);
  const positions: number[] = [];
  for (let r = 0; r < selection.batch; r++) {
    for (let e = selection.rowPtr[r]!; e < selection.rowPtr[r + 1]!; e++) {
      const c = selection.cols[e]!;
      if (c >= from && c < to) positions.push(e);
    }
    rowPtr[r + 1] = positions.length;
  }
  const pos = Int32Array.from(positions);
  const cols = new Int32Array(pos.length);
  for (let i = 0; i < pos.length; i++) cols[i] = selection.cols[pos[i]!]!;
  return { selection: { batch: selection.batch, width: selection.width, rowPtr, cols }, positions: pos };
}
