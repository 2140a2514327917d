import { ValueError } from '../errors.ts';
import type { Tensor } from '../tensor.ts';
import { Optimizer, checkHyper, f32, updateOnHost } from './optimizer.ts';

export interface SGDOptions {
  lr: number;
  /** Momentum factor; default 0 (plain SGD). */
  momentum?: number;
  /** Dampening of the momentum; default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. Default false. */
  nesterov?: boolean;
}

type SGDHyper = { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };
type SGDState = { step: number; momentumBuffer: Float32Array };

/**
 * Stochastic gradient descent with momentum, as torch.optim.SGD:
 * g += wd·p; b = g on the first step, else b = μ·b + (1 − dampening)·g;
 * g = nesterov ? g + μ·b : b; p −= lr·g.
 */
export class SGD extends Optimizer<SGDHyper, SGDState> {
  constructor(params: Iterable<Tensor>, options: SGDOptions) {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    checkHyper('SGD', 'momentum', momentum, momentum >= 0, 'momentum >= 0');
    checkHyper('SGD', 'dampening', dampening, true, 'a finite number');
    checkHyper('SGD', 'weightDecay', weightDecay, weightDecay >= 0, 'weightDecay >= 0');
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new ValueError('Nesterov momentum needs momentum > 0 and dampening 0', {
        op: 'SGD',
        arg: 'nesterov',
        expected: 'momentum > 0 and dampening = 0',
        given: `momentum = ${momentum}, dampening = ${dampening}`,
      });
    }
    super('SGD', params, { lr, momentum, dampening, weightDecay, nesterov });
  }

  protected initState(param: Tensor): SGDState {
    return { step: 0, momentumBuffer: new Float32Array(param.size) };
  }

  protected update(param: Tensor, grad: Tensor, state: SGDState): void {
    updateOnHost(param, grad, (p, g) => this.#update(p, g, state));
  }

  #update(p: Float32Array, g: Float32Array, state: SGDState): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this.hyper;
    const buf = state.momentumBuffer;
    const first = state.step === 0;
    const wd = f32(weightDecay);
    const mu = f32(momentum);
    const keep = f32(1 - dampening);
    const alpha = f32(-lr);
    for (let i = 0; i < p.length; i++) {
      let d = weightDecay !== 0 ? f32(g[i]! + wd * p[i]!) : g[i]!;
      if (momentum !== 0) {
        buf[i] = first ? d : f32(f32(buf[i]! * mu) + keep * d);
        d = nesterov ? f32(d + mu * buf[i]!) : buf[i]!;
      }
      p[i] = f32(p[i]! + alpha * d);
    }
    state.step += 1;
  }
}
