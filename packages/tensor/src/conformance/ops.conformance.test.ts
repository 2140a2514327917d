import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type Tensor, add, availableBackends, getBackend, mul, setBackend, sum, tensor } from '../index.ts';
import { EXACT, type GoldenCase, type GoldenTensor, OP_CASES, type Tolerance, decodeValues, loadGoldens, toleranceFor } from './op-cases.ts';

// Forward values and gradients of every public op against PyTorch (scripts/op_goldens.py),
// on every backend Glassbox has. A backend added to backends/index.ts is picked up here.
const goldens = loadGoldens();

function build(t: GoldenTensor, backend: Backend<unknown>, requiresGrad = false): Tensor {
  const values = decodeValues(t);
  const data = t.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  return tensor(data, { shape: t.shape, backend, requiresGrad });
}

/** numpy.allclose, naming the first element out of tolerance. */
function expectClose(actual: ArrayLike<number>, expected: readonly number[], { rtol, atol }: Tolerance, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Number.isFinite(e) ? Math.abs(a - e) <= atol + rtol * Math.abs(e) : a === e;
    if (!ok) expect.fail(`${label}: element ${i} is ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

function expectMatches(actual: Tensor, expected: GoldenTensor, tolerance: Tolerance, label: string): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${label}: dtype`).toBe(expected.dtype);
  expectClose(actual.data(), decodeValues(expected), expected.dtype === 'int32' ? EXACT : tolerance, label);
}

function check(c: GoldenCase, backend: Backend<unknown>): void {
  const run = OP_CASES[c.op];
  if (!run) throw new Error(`no runner in op-cases.ts for op '${c.op}'`);
  const tolerance = toleranceFor(c.op);
  const inputs = c.inputs.map((t, i) => build(t, backend, c.grads[i] != null));
  const result = run(inputs, c.attrs);
  const outputs = Array.isArray(result) ? result : [result];
  expect(outputs.length, 'output count').toBe(c.outputs.length);
  for (const [i, out] of outputs.entries()) expectMatches(out, c.outputs[i]!, tolerance.forward, `output ${i}`);

  if (!c.grads.some((g) => g !== null)) return;
  // Seed backward with the stored cotangents: the gradient of sum(output · cotangent).
  const seeded = outputs.flatMap((out, i) => {
    const cot = c.cotangents[i];
    return cot && out.requiresGrad ? [[out, build(cot, backend)] as const] : [];
  });
  if (seeded.length === 1) {
    const [out, seed] = seeded[0]!;
    out.backward(seed);
  } else if (seeded.length > 1) {
    seeded.map(([out, seed]) => sum(mul(out, seed))).reduce((a, b) => add(a, b)).backward();
  }
  for (const [i, expected] of c.grads.entries()) {
    if (!expected) continue;
    const grad = inputs[i]!.grad;
    // No gradient reached the input: PyTorch's answer is then zero.
    if (grad) expectMatches(grad, expected, tolerance.grad, `grad ${i}`);
    else expectClose(new Float32Array(expected.data.length), decodeValues(expected), tolerance.grad, `grad ${i} (none reached it)`);
  }
}

describe.for(availableBackends())('op goldens on the %s backend', (name) => {
  let backend: Backend<unknown>;
  let previous: string;
  beforeAll(() => {
    previous = getBackend().name;
    setBackend(name);
    backend = getBackend();
  });
  afterAll(() => setBackend(previous));

  it.for(goldens.cases)('$name', (c) => check(c, backend));
});
