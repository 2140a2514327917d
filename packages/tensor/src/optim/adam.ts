import type { AdamScalars } from '../backend.ts';
import { tensor } from '../creation.ts';
import { isContiguous } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { Optimizer, type ParamState, checkHyper, f32, stateBuffer } from './optimizer.ts';

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
/** With amsgrad, also `maxExpAvgSq`: the running maximum of expAvgSq. Buffers live on the parameter's backend. */
type AdamState = ParamState & { step: number; expAvg: Tensor; expAvgSq: Tensor };

function adamHyper(op: string, options: AdamOptions, defaultDecay: number): AdamHyper {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = defaultDecay, amsgrad = false } = options;
  const [beta1, beta2] = betas;
  checkHyper(op, 'betas[0]', beta1, beta1 >= 0 && beta1 < 1, '0 <= beta1 < 1');
  checkHyper(op, 'betas[1]', beta2, beta2 >= 0 && beta2 < 1, '0 <= beta2 < 1');
  checkHyper(op, 'eps', eps, eps >= 0, 'eps >= 0');
  checkHyper(op, 'weightDecay', weightDecay, weightDecay >= 0, 'weightDecay >= 0');
  return { lr, beta1, beta2, eps, weightDecay, amsgrad };
}


/** The adamUpdate kernel's scalars at step t (1-based), rounded to float32 as the kernels use them. */
export function adamScalars(
  hyper: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
  t: number,
  decayMode: AdamScalars['decayMode'],
): AdamScalars {
  const { lr, beta1, beta2, eps, weightDecay } = hyper;
  return {
    beta1: f32(beta1),
    beta2: f32(beta2),
    oneMinusBeta1: f32(1 - beta1),
    oneMinusBeta2: f32(1 - beta2),
    stepSize: f32(-(lr / (1 - beta1 ** t))),
    bc2Sqrt: f32(Math.sqrt(1 - beta2 ** t)),
    eps: f32(eps),
    decayMode,
    weightDecay: f32(weightDecay),
    decay: f32(1 - lr * weightDecay),
  };
}

/**
 * The moment updates shared by Adam and AdamW, as torch.optim's single-tensor implementation.
 * With t the parameter's step count: m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
 * v̂ = amsgrad ? max(v̂, v) : v, p −= lr / (1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + eps).
 * Coupled decay (Adam) first adds wd·p to g; decoupled decay (AdamW) first multiplies p by 1 − lr·wd.
 * Each step is one fused `adamUpdate` kernel on the parameter's backend, whose float32 rounding
 * is the same on every backend, so results and resumed checkpoints are bit-identical across them.
 */
export abstract class AdamBase extends Optimizer<AdamHyper, AdamState> {
  readonly #decoupled: boolean;

  protected constructor(name: string, params: Iterable<Tensor>, options: AdamOptions, decoupled: boolean) {
    super(name, params, adamHyper(name, options, decoupled ? 1e-2 : 0));
    this.#decoupled = decoupled;
  }

  protected initState(param: Tensor): AdamState {
    const state: AdamState = { step: 0, expAvg: stateBuffer(param), expAvgSq: stateBuffer(param) };
    if (this.hyper.amsgrad) state.maxExpAvgSq = stateBuffer(param);
    return state;
  }

  /** One fused adamUpdate kernel, in place on the parameter and its state buffers. */
  protected update(param: Tensor, grad: Tensor, state: AdamState): void {
    const { weightDecay, amsgrad } = this.hyper;
    state.step += 1;
    const t = state.step;
    if (amsgrad && !(state.maxExpAvgSq instanceof Tensor)) state.maxExpAvgSq = stateBuffer(param);
    const scalars = adamScalars(this.hyper, t, weightDecay === 0 ? 'none' : this.#decoupled ? 'decoupled' : 'l2');
    // The kernel wants contiguous float32 views on one backend; a strided parameter is updated through a copy.
    const onBackend = grad.backend === param.backend ? grad : tensor(grad.data(), { shape: grad.shape, backend: param.backend });
    const g = (onBackend.dtype === 'float32' ? onBackend : onBackend.cast('float32')).contiguous();
    const target = isContiguous(param.shape, param.strides) ? param : param.contiguous();
    const vHat = amsgrad ? (state.maxExpAvgSq as Tensor) : null;
    param.backend.kernels.adamUpdate(target, g, state.expAvg, state.expAvgSq, vHat, scalars);
    if (target !== param) {
      param.copyFrom(target);
      target.dispose();
    }
    if (g !== grad) g.dispose();
  }
}

/** torch.optim.Adam: weight decay is an L2 penalty added to the gradient (default 0). */
export class Adam extends AdamBase {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super('Adam', params, options, false);
  }
}
