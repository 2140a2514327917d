import { type Tensor, add, exp, gather, matmul, mul, neg, sigmoid, sum, tensor } from '@glassbox/tensor';
import { describe, expect, it } from 'vitest';
import { GradcheckError, gradcheck } from './gradcheck.ts';

const x = () => tensor([[0.5, -1.25, 2], [1.5, 0.25, -0.75]]);

/** Records the error gradcheck throws, failing the test when it throws nothing. */
function failureOf(run: () => unknown): GradcheckError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GradcheckError);
    return error as GradcheckError;
  }
  throw new Error('gradcheck passed a wrong gradient');
}

/** exp(x), with a hook on the result that rewrites the gradient flowing back through it. */
function expWithHook(rewrite: (g: Tensor) => Tensor) {
  return (input: Tensor): Tensor => {
    const y = exp(input);
    if (y.requiresGrad) y.registerHook(rewrite);
    return y;
  };
}

describe('gradcheck passes correct gradients', () => {
  it('on elementwise, broadcast and matmul expressions', () => {
    expect(gradcheck((a) => mul(exp(a), a), [x()]).elements).toBe(6);
    expect(gradcheck((a, b) => add(a, b), [x(), tensor([1, 2, 3])]).elements).toBe(9);
    expect(gradcheck((a, b) => sigmoid(matmul(a, b)), [x(), tensor([[1, -1], [0.5, 2], [-0.5, 0.25]])]).elements).toBe(12);
  });

  it('on 0-d and empty inputs', () => {
    expect(gradcheck((a) => mul(a, a), [tensor(1.5)]).elements).toBe(1);
    expect(gradcheck((a, b) => add(a, b), [tensor(new Float32Array(0), { shape: [0, 3] }), tensor([1, 2, 3])]).elements).toBe(3);
  });

  it('passes int32 inputs through unchanged and checks only the float ones', () => {
    const index = tensor([[2, 0], [1, 1]], { dtype: 'int32' });
    expect(gradcheck((a, i) => gather(a, 1, i), [x(), index]).elements).toBe(6);
  });

  it('checks only the inputs named in wrt', () => {
    expect(gradcheck((a, b) => mul(a, b), [x(), x()], { wrt: [1] }).elements).toBe(6);
  });

  it('counts an input the output does not depend on as a zero gradient', () => {
    expect(gradcheck((a, _b) => exp(a), [x(), x()]).elements).toBe(12);
  });

  it('leaves the caller tensors untouched', () => {
    const a = x();
    const before = Array.from(a.data());
    gradcheck((t) => mul(t, t), [a]);
    expect(a.grad).toBeNull();
    expect(a.requiresGrad).toBe(false);
    expect(Array.from(a.data())).toEqual(before);
  });
});

describe('gradcheck fails wrong gradients', () => {
  it('a hook that doubles the gradient', () => {
    const error = failureOf(() => gradcheck(expWithHook((g) => mul(g, 2)), [x()]));
    expect(error.mismatches.length).toBeGreaterThan(0);
    for (const m of error.mismatches) {
      expect(m.input).toBe(0);
      expect(m.analytic / m.numeric).toBeCloseTo(2, 2);
    }
  });

  it('a hook that flips the sign, and one that is off by only 5%', () => {
    failureOf(() => gradcheck(expWithHook((g) => neg(g)), [x()]));
    failureOf(() => gradcheck(expWithHook((g) => mul(g, 1.05)), [x()]));
  });

  it('a gradient that is missing (the graph is cut)', () => {
    const error = failureOf(() => gradcheck((a) => exp(a.detach()), [x()]));
    expect(error.mismatches[0]!.analytic).toBe(0);
    expect(Math.abs(error.mismatches[0]!.numeric)).toBeGreaterThan(0.1);
  });

  it('names the input, the element and both values', () => {
    // Only the second input's gradient is wrong, and only at element [1, 2].
    const mask = tensor([[1, 1, 1], [1, 1, 3]]);
    const fn = (a: Tensor, b: Tensor) => {
      const bb = b.requiresGrad ? mul(b, 1) : b;
      if (bb.requiresGrad) bb.registerHook((g) => mul(g, mask));
      return sum(mul(a, bb), 0);
    };
    const error = failureOf(() => gradcheck(fn, [x(), x()]));
    expect(error.mismatches).toHaveLength(1);
    const [m] = error.mismatches;
    expect(m).toMatchObject({ input: 1, element: 5, position: [1, 2] });
    expect(m!.analytic).toBeCloseTo(3 * m!.numeric, 3);
    expect(error.message).toMatch(/1 of 12 gradient elements/);
    expect(error.message).toMatch(/input 1 \[2, 3\] element 5 at \[1, 2\]: analytic -?[\d.]+, numeric -?[\d.]+/);
  });

  it('reports the worst mismatches first', () => {
    const scale = tensor([[1, 1.5, 1], [4, 1, 2]]);
    const error = failureOf(() => gradcheck(expWithHook((g) => mul(g, scale)), [x()]));
    expect(error.mismatches.map((m) => m.element).sort()).toEqual([1, 3, 5]);
    const excess = error.mismatches.map((m) => Math.abs(m.analytic - m.numeric) - (1e-3 + 1e-2 * Math.abs(m.numeric)));
    expect(excess).toEqual([...excess].sort((p, q) => q - p));
  });
});

describe('gradcheck rejects what it cannot check', () => {
  it('int32 inputs named in wrt and int32 outputs', () => {
    expect(() => gradcheck((a) => a, [tensor([1, 2], { dtype: 'int32' })], { wrt: [0] })).toThrow(/only float32 inputs/);
    expect(() => gradcheck((a) => a.cast('int32'), [x()])).toThrow(/must return float32/);
  });
});
