import { Generator, type Tensor, add, matmul, mul, randn, sub, sum, tensor } from '@glassbox/tensor';
import { assertAllClose, gradcheck } from '@glassbox/testing';
import { describe, expect, it } from 'vitest';
import { gatherSelected, selectBatchTopK, selectTopK, topKEntries } from './selection.ts';
import { sparseAffine, sparseDecode, sparseToDense, transposeMatrix } from './sparse-ops.ts';

const generator = () => Generator.fromSeed(7);

function leaf(shape: number[], g: Generator): Tensor {
  return randn(shape, { generator: g }).setRequiresGrad(true);
}

function maskOf(selection: ReturnType<typeof selectTopK>): Tensor {
  const m = new Float32Array(selection.batch * selection.width);
  for (let r = 0; r < selection.batch; r++) for (let e = selection.rowPtr[r]!; e < selection.rowPtr[r + 1]!; e++) m[r * selection.width + selection.cols[e]!] = 1;
  return tensor(m, { shape: [selection.batch, selection.width] });
}

describe('sparse ops', () => {
  it('transposes a matrix', () => {
    const src = Float32Array.from({ length: 70 * 45 }, (_, i) => i);
    const t = transposeMatrix(src, 70, 45);
    expect(t[3 * 70 + 5]).toBe(src[5 * 45 + 3]);
    expect(transposeMatrix(t, 45, 70)).toEqual(src);
  });

  // k = 1 gives fewer entries than latents (the strided kernels), k = 3 more (the transposed ones).
  it.each([1, 3])('encode + decode match the dense masked product, values and gradients (k = %i)', (k) => {
    const g = generator();
    const [batch, dIn, width] = [5, 6, 11];
    const x0 = leaf([batch, dIn], g);
    const bDec = leaf([dIn], g);
    const W = leaf([dIn, width], g);
    const b = leaf([width], g);
    const Wd = leaf([width, dIn], g);
    const target = randn([batch, dIn], { generator: g });

    // 'gather' takes the values from the dense pre-activations, 'entries' from topKEntries.
    const run = (mode: 'dense' | 'gather' | 'entries'): Tensor[] => {
      for (const t of [x0, bDec, W, b, Wd]) t.grad = null;
      const x = sub(x0, bDec);
      const pre = add(matmul(x, W), b);
      const preData = pre.data() as Float32Array;
      const selection = selectTopK(preData, batch, width, k);
      let out: Tensor;
      if (mode !== 'dense') {
        const values = mode === 'gather' ? sparseAffine(x, W, b, selection, preData) : sparseAffine(x, W, b, topKEntries(pre, k));
        out = sparseDecode(values, Wd, selection);
      } else {
        out = matmul(mul(pre, maskOf(selection)), Wd);
      }
      const loss = sum(mul(sub(out, target), sub(out, target)));
      loss.backward();
      return [out, x0.grad!, bDec.grad!, W.grad!, b.grad!, Wd.grad!];
    };
    const dense = run('dense');
    for (const mode of ['gather', 'entries'] as const) {
      const sparse = run(mode);
      dense.forEach((d, i) => {
        assertAllClose(sparse[i]!, d.data(), { rtol: 1e-4, atol: 1e-4 }, `${mode} output ${i}`);
      });
    }
  });

  it('passes finite-difference gradchecks for a fixed selection', () => {
    const g = generator();
    const [batch, dIn, width] = [3, 4, 7];
    const pre = randn([batch, width], { generator: g }).data() as Float32Array;
    for (const k of [1, 4]) {
      const selection = selectTopK(pre, batch, width, k);
      const entries = selection.cols.length;
      const inputs = [randn([batch, dIn], { generator: g }), randn([dIn, width], { generator: g }), randn([width], { generator: g })];
      gradcheck((x, W, b) => sparseAffine(x!, W!, b!, selection), inputs);
      gradcheck((v, W) => sparseDecode(v!, W!, selection), [randn([entries], { generator: g }), randn([width, dIn], { generator: g })]);
      gradcheck((v) => sparseToDense(v!, selection), [randn([entries], { generator: g })]);
    }
  });

  it('recomputes selected values without dense pre-activations', () => {
    const g = generator();
    const x = randn([4, 3], { generator: g });
    const W = randn([3, 9], { generator: g });
    const b = randn([9], { generator: g });
    const pre = add(matmul(x, W), b).data() as Float32Array;
    for (const k of [1, 4]) {
      const selection = selectTopK(pre, 4, 9, k);
      assertAllClose(sparseAffine(x, W, b, selection), gatherSelected(pre, selection), { atol: 1e-5 });
    }
  });

  it('scatters to dense with a gather backward', () => {
    const values = tensor([1, 2, 3]).setRequiresGrad(true);
    const selection = selectBatchTopK(Float32Array.from([0.5, 0, 2, 0, 3, 0]), 2, 3, 3);
    const dense = sparseToDense(values, selection);
    expect(Array.from(dense.data())).toEqual([1, 0, 2, 0, 3, 0]);
    sum(mul(dense, tensor([[1, 2, 3], [4, 5, 6]]))).backward();
    expect(Array.from(values.grad!.data())).toEqual([1, 3, 5]);
  });
});
