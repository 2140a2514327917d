import type { Tensor } from '../tensor.ts';
import { Optimizer, type ParamState, checkHyper, f32 } from './optimizer.ts';

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages; default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator, outside the square root; default 1e-8. */
  eps?: number;
  /** Adam: an L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** Use the running maximum of the second moment (AMSGrad); default false. */
  amsgrad?: boolean;
}

type AdamHyper = { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; amsgrad: boolean };
/** With amsgrad, also `maxExpAvgSq`: the running maximum of expAvgSq. */
type AdamState = ParamState & { step: number; expAvg: Float32Array; expAvgSq: Float32Array };

function adamHyper(op: string, options: AdamOptions, defaultDecay: number): AdamHyper {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = defaultDecay, amsgrad = false } = options;
  const [beta1, beta2] = betas;
  checkHyper(op, 'betas[0]', beta1, beta1 >= 0 && beta1 < 1, '0 <= beta1 < 1');
  checkHyper(op, 'betas[1]', beta2, beta2 >= 0 && beta2 < 1, '0 <= beta2 < 1');
  checkHyper(op, 'eps', eps, eps >= 0, 'eps >= 0');
  checkHyper(op, 'weightDecay', weightDecay, weightDecay >= 0, 'weightDecay >= 0');
  return { lr, beta1, beta2, eps, weightDecay, amsgrad };
}

/**
 * The moment updates shared by Adam and AdamW, as torch.optim's single-tensor implementation.
 * With t the parameter's step count: m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
 * v̂ = amsgrad ? max(v̂, v) : v, p −= lr / (1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + eps).
 * Coupled decay (Adam) first adds wd·p to g; decoupled decay (AdamW) first multiplies p by 1 − lr·wd.
 */
export abstract class AdamBase extends Optimizer<AdamHyper, AdamState> {
  readonly #decoupled: boolean;

  protected constructor(name: string, params: Iterable<Tensor>, options: AdamOptions, decoupled: boolean) {
    super(name, params, adamHyper(name, options, decoupled ? 1e-2 : 0));
    this.#decoupled = decoupled;
  }

  protected initState(size: number): AdamState {
    const state: AdamState = { step: 0, expAvg: new Float32Array(size), expAvgSq: new Float32Array(size) };
    if (this.hyper.amsgrad) state.maxExpAvgSq = new Float32Array(size);
    return state;
  }

  protected update(p: Float32Array, g: Float32Array, state: AdamState): void {
    const { lr, beta1, beta2, eps, weightDecay, amsgrad } = this.hyper;
    state.step += 1;
    const t = state.step;
    const m = state.expAvg;
    const v = state.expAvgSq;
    const max = state.maxExpAvgSq;
    const vHat = !amsgrad ? v : max instanceof Float32Array ? max : (state.maxExpAvgSq = new Float32Array(p.length));
    const b1 = f32(beta1);
    const b2 = f32(beta2);
    const oneMinusB1 = f32(1 - beta1);
    const oneMinusB2 = f32(1 - beta2);
    const stepSize = f32(-(lr / (1 - beta1 ** t)));
    const bc2Sqrt = f32(Math.sqrt(1 - beta2 ** t));
    const epsilon = f32(eps);
    const wd = f32(weightDecay);
    const decay = f32(1 - lr * weightDecay);
    const decoupled = this.#decoupled;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i]!;
      if (weightDecay !== 0) {
        if (decoupled) p[i] = f32(p[i]! * decay);
        else gi = f32(gi + wd * p[i]!);
      }
      m[i] = f32(f32(m[i]! * b1) + oneMinusB1 * gi);
      v[i] = f32(f32(v[i]! * b2) + f32(f32(oneMinusB2 * gi) * gi));
      if (amsgrad) vHat[i] = Math.max(vHat[i]!, v[i]!);
      const denom = f32(f32(f32(Math.sqrt(vHat[i]!)) / bc2Sqrt) + epsilon);
      p[i] = f32(p[i]! + f32(f32(stepSize * m[i]!) / denom));
    }
  }
}

/** torch.optim.Adam: weight decay is an L2 penalty added to the gradient (default 0). */
export class Adam extends AdamBase {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super('Adam', params, options, false);
  }
}
