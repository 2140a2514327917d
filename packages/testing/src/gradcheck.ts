import { Generator, type Tensor, noGrad, tensor } from '@glassbox/tensor';

/**
 * Tolerances for float32. The engine computes in float32 (unit roundoff u = 2^-24 ≈ 6e-8), so a
 * central difference with step h carries two errors: truncation, about h²·|f'''|/6, and rounding
 * of the two evaluations, about u·|f|/h per output. Their sum is smallest near h = (3u)^(1/3) ≈ 5e-3.
 * With h = 1e-2 (scaled by |x| above 1) truncation stays near 2e-5·|f'''| and rounding near
 * 6e-6·|f|, so rtol = 1e-2 and atol = 1e-3 leave headroom for curved ops and many outputs while
 * still catching any rule that is off by a constant factor, a sign or a missing term.
 */
export const GRADCHECK_DEFAULTS = { eps: 1e-2, rtol: 1e-2, atol: 1e-3 } as const;

export interface GradcheckOptions {
  /** Finite-difference step, relative to max(1, |x|). Default 1e-2. */
  eps?: number;
  /** Relative tolerance against the numeric gradient. Default 1e-2. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-3. */
  atol?: number;
  /** Seed of the fixed random cotangent. Default 0. */
  seed?: number;
  /** Indices of the inputs to check. Default: every float32 input. */
  wrt?: readonly number[];
  /** How many mismatches the error lists. Default 5. */
  maxReported?: number;
}

export interface GradMismatch {
  /** Which input of fn. */
  input: number;
  /** Flat (row-major) element index within that input. */
  element: number;
  /** The same element as a multi-index. */
  position: number[];
  analytic: number;
  numeric: number;
}

export interface GradcheckReport {
  /** Elements compared, over all checked inputs. */
  elements: number;
  /** Largest |analytic − numeric| seen. */
  maxAbsError: number;
}

/** The analytic gradient disagrees with finite differences; `mismatches` lists the worst first. */
export class GradcheckError extends Error {
  readonly mismatches: readonly GradMismatch[];
  constructor(message: string, mismatches: readonly GradMismatch[]) {
    super(message);
    this.name = 'GradcheckError';
    this.mismatches = mismatches;
  }
}

function positionOf(flat: number, shape: readonly number[]): number[] {
  const position = new Array<number>(shape.length).fill(0);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const d = shape[axis]!;
    position[axis] = flat % d;
    flat = Math.floor(flat / d);
  }
  return position;
}

/** Signed magnitudes in [0.5, 1.5): no output is weighted near zero, so none can hide a bad gradient. */
function cotangentValues(size: number, seed: number): Float32Array {
  const g = Generator.fromSeed(seed);
  return Float32Array.from({ length: size }, () => (g.uniform() < 0.5 ? -1 : 1) * (0.5 + g.uniform()));
}

function close(analytic: number, numeric: number, rtol: number, atol: number): boolean {
  if (Number.isNaN(numeric) || Number.isNaN(analytic)) return Number.isNaN(numeric) && Number.isNaN(analytic);
  if (!Number.isFinite(numeric)) return analytic === numeric;
  return Math.abs(analytic - numeric) <= atol + rtol * Math.abs(numeric);
}

/**
 * Checks reverse-mode gradients of `fn` against central finite differences. With a fixed random
 * cotangent c, the analytic side is the gradient of sum(fn(...xs) · c) from backward(); the
 * numeric side perturbs one element of a copy of one input by ±h, evaluates fn under noGrad and
 * forms Σ c·(f₊ − f₋) / (x₊ − x₋) in float64, where x± are the float32 values actually used.
 * Inputs that are not checked (int32 indices, for one) are passed through unchanged. The caller's
 * tensors are never modified. Throws GradcheckError naming input, element, analytic and numeric.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const { eps = GRADCHECK_DEFAULTS.eps, rtol = GRADCHECK_DEFAULTS.rtol, atol = GRADCHECK_DEFAULTS.atol, seed = 0, maxReported = 5 } = options;
  const wrt = options.wrt ?? inputs.flatMap((t, i) => (t.dtype === 'float32' ? [i] : []));
  for (const i of wrt) {
    const t = inputs[i];
    if (t?.dtype !== 'float32') throw new TypeError(`gradcheck: input ${i} is ${t ? t.dtype : 'missing'}; only float32 inputs can be checked`);
  }
  const values = inputs.map((t) => Float32Array.from(t.data()));
  const rebuild = (i: number, requiresGrad: boolean): Tensor => {
    const t = inputs[i]!;
    return wrt.includes(i) ? tensor(Float32Array.from(values[i]!), { shape: t.shape, backend: t.backend, requiresGrad }) : t;
  };

  // Analytic: one backward pass seeded with the cotangent.
  const leaves = inputs.map((_, i) => rebuild(i, true));
  const out = fn(...leaves);
  if (out.dtype !== 'float32') throw new TypeError(`gradcheck: fn returned ${out.dtype}; it must return float32`);
  const cot = cotangentValues(out.size, seed);
  if (out.requiresGrad) out.backward(tensor(cot, { shape: out.shape, backend: out.backend }));
  const analytic = wrt.map((i) => leaves[i]!.grad?.data() ?? new Float32Array(values[i]!.length));

  // Numeric: central differences on copies, in float64.
  const evaluate = (): Float32Array => noGrad(() => Float32Array.from(fn(...inputs.map((_, i) => rebuild(i, false))).data()));
  const mismatches: Array<GradMismatch & { excess: number }> = [];
  let elements = 0;
  let maxAbsError = 0;
  wrt.forEach((i, w) => {
    const x = values[i]!;
    for (let j = 0; j < x.length; j++) {
      const x0 = x[j]!;
      const h = eps * Math.max(1, Math.abs(x0));
      const xPlus = Math.fround(x0 + h);
      const xMinus = Math.fround(x0 - h);
      x[j] = xPlus;
      const fPlus = evaluate();
      x[j] = xMinus;
      const fMinus = evaluate();
      x[j] = x0;
      let dot = 0;
      for (let k = 0; k < cot.length; k++) dot += cot[k]! * (fPlus[k]! - fMinus[k]!);
      const numeric = dot / (xPlus - xMinus);
      const a = analytic[w]![j]!;
      elements++;
      const error = Math.abs(a - numeric);
      if (error > maxAbsError || Number.isNaN(error)) maxAbsError = error;
      if (!close(a, numeric, rtol, atol)) {
        const excess = Number.isFinite(error) ? error - (atol + rtol * Math.abs(numeric)) : Number.POSITIVE_INFINITY;
        mismatches.push({ input: i, element: j, position: positionOf(j, inputs[i]!.shape), analytic: a, numeric, excess });
      }
    }
  });
  if (mismatches.length > 0) {
    mismatches.sort((p, q) => q.excess - p.excess);
    const listed = mismatches.slice(0, maxReported).map(({ excess: _, ...m }) => m);
    const lines = listed.map(
      (m) =>
        `  input ${m.input} [${inputs[m.input]!.shape.join(', ')}] element ${m.element} at [${m.position.join(', ')}]: analytic ${m.analytic}, numeric ${m.numeric} (|diff| ${Math.abs(m.analytic - m.numeric).toExponential(3)})`,
    );
    throw new GradcheckError(
      `gradcheck: ${mismatches.length} of ${elements} gradient elements differ from finite differences (eps ${eps}, rtol ${rtol}, atol ${atol}):\n${lines.join('\n')}`,
      listed,
    );
  }
  return { elements, maxAbsError };
}
