import type { AdamScalars } from '../../backend.ts';
import { sizeOf } from '../../shape.ts';
import type { JsView } from './strided.ts';

const f32 = Math.fround;

/** The elements of a contiguous float32 view, as a subarray sharing its buffer. */
function flat(x: JsView, size: number): Float32Array {
  return (x.handle as Float32Array).subarray(x.offset, x.offset + size);
}

/**
 * One Adam step in place, as torch.optim's single-tensor implementation. Computes in float64 and
 * rounds where PyTorch's float32 ops would; (1 − β1)·g and wd·p are exact products, so the sums
 * holding them round once. The wasm kernel reproduces this order of operations exactly.
 */
export function adamUpdate(param: JsView, grad: JsView, expAvg: JsView, expAvgSq: JsView, maxExpAvgSq: JsView | null, s: AdamScalars): void {
  const n = sizeOf(param.shape);
  const p = flat(param, n);
  const g = flat(grad, n);
  const m = flat(expAvg, n);
  const v = flat(expAvgSq, n);
  const vHat = maxExpAvgSq ? flat(maxExpAvgSq, n) : v;
  const amsgrad = maxExpAvgSq !== null;
  const { beta1, beta2, oneMinusBeta1, oneMinusBeta2, stepSize, bc2Sqrt, eps, decayMode, weightDecay, decay } = s;
  for (let i = 0; i < n; i++) {
    let gi = g[i]!;
    if (decayMode === 'decoupled') p[i] = f32(p[i]! * decay);
    else if (decayMode === 'l2') gi = f32(gi + weightDecay * p[i]!);
    m[i] = f32(f32(m[i]! * beta1) + oneMinusBeta1 * gi);
    v[i] = f32(f32(v[i]! * beta2) + f32(f32(oneMinusBeta2 * gi) * gi));
    if (amsgrad) vHat[i] = Math.max(vHat[i]!, v[i]!);
    const denom = f32(f32(f32(Math.sqrt(vHat[i]!)) / bc2Sqrt) + eps);
    p[i] = f32(p[i]! + f32(f32(stepSize * m[i]!) / denom));
  }
}
