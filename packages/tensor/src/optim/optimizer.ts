import { noGrad } from '../autograd/graph.ts';
import { tensor, zeros } from '../creation.ts';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors.ts';
import { keep } from '../scope.ts';
import { Tensor } from '../tensor.ts';

/** Hyperparameters: plain numbers and flags, including the current learning rate. */
export type Hyper = { lr: number } & Record<string, number | boolean>;

/**
 * One parameter's state: float32 buffers shaped like the parameter, and counters. A buffer is a
 * host array (flat), or a tensor on the parameter's backend that a fused kernel updates in place.
 */
export type ParamState = Record<string, Float32Array | Tensor | number>;

/**
 * Everything needed to resume training bit-identically: the hyperparameters (lr as last set, by a
 * scheduler or by hand) and, per parameter in order, its buffers as float32 tensors of the
 * parameter's shape and its counters, or null for a parameter that has not been stepped yet.
 */
export interface OptimizerStateDict {
  hyper: Record<string, number | boolean>;
  state: Array<Record<string, Tensor | number> | null>;
}

/** Rounds to float32: the optimizers compute in float64 and round where PyTorch's float32 ops would. */
export const f32 = Math.fround;

/** A zero float32 state buffer on the parameter's backend, exempt from any enclosing tidy(). */
export function stateBuffer(param: Tensor): Tensor {
  return keep(zeros(param.shape, { backend: param.backend }));
}

/**
 * Runs `update` over host copies of a parameter and its gradient, then writes the parameter
 * back in place with `copyFrom`: the path for optimizers without a fused kernel.
 */
export function updateOnHost(param: Tensor, grad: Tensor, update: (param: Float32Array, grad: Float32Array) => void): void {
  const values = param.data() as Float32Array;
  update(values, Float32Array.from(grad.data()));
  param.copyFrom(tensor(values, { shape: param.shape, backend: param.backend }));
}

export function checkHyper(op: string, arg: string, value: number, ok: boolean, expected: string): void {
  if (!Number.isFinite(value) || !ok) throw new ValueError(`invalid \`${arg}\``, { op, arg, expected, given: String(value) });
}

/**
 * The base of the optimizers. A subclass supplies the initial state of one parameter and the
 * update of one parameter given its gradient (over host arrays with `updateOnHost`, or a fused
 * kernel); the base runs it, off the tape, for every parameter that has a gradient, and saves and
 * restores state.
 */
export abstract class Optimizer<H extends Hyper = Hyper, S extends ParamState = ParamState> {
  readonly params: readonly Tensor[];
  readonly hyper: H;
  readonly #state: Array<S | null>;
  readonly #name: string;

  protected constructor(name: string, params: Iterable<Tensor>, hyper: H) {
    this.#name = name;
    this.params = [...params];
    this.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) {
        throw new ValueError('not a tensor', { op: name, arg: `params[${i}]`, expected: 'a Tensor', given: typeof p });
      }
      if (p.dtype !== 'float32') {
        throw new DTypeError('parameters must be float32', { op: name, arg: `params[${i}]`, expected: 'float32', given: p.dtype });
      }
      if (this.params.indexOf(p) !== i) {
        throw new ValueError('a parameter appears twice', { op: name, arg: `params[${i}]`, expected: 'distinct tensors', given: `the same tensor as params[${this.params.indexOf(p)}]` });
      }
    });
    checkHyper(name, 'lr', hyper.lr, hyper.lr >= 0, 'lr >= 0');
    this.hyper = { ...hyper };
    this.#state = this.params.map(() => null);
  }

  get lr(): number {
    return this.hyper.lr;
  }
  set lr(value: number) {
    checkHyper(`${this.#name}.lr`, 'lr', value, value >= 0, 'lr >= 0');
    this.hyper.lr = value;
  }

  /** The state of a parameter before its first step. */
  protected abstract initState(param: Tensor): S;

  /** Updates one parameter in place, given its gradient and state (also updated in place). */
  protected abstract update(param: Tensor, grad: Tensor, state: S): void;

  /** One update of every parameter that has a gradient; the others are left alone. */
  step(): void {
    noGrad(() => {
      this.params.forEach((p, i) => {
        if (!p.grad) return;
        if (p.grad.size !== p.size) {
          throw new ShapeError('gradient does not match its parameter', {
            op: `${this.#name}.step`,
            arg: `params[${i}].grad`,
            expected: formatShape(p.shape),
            given: formatShape(p.grad.shape),
          });
        }
        const state = this.#state[i] ?? this.initState(p);
        this.#state[i] = state;
        this.update(p, p.grad, state);
      });
    });
  }

  /** Drops every parameter's gradient (sets `.grad` to null, as PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** A snapshot of the hyperparameters and state; later steps do not change it. */
  stateDict(): OptimizerStateDict {
    return {
      hyper: { ...this.hyper },
      state: this.#state.map((s, i) => {
        if (s === null) return null;
        const p = this.params[i]!;
        const entry: Record<string, Tensor | number> = {};
        for (const [key, value] of Object.entries(s)) {
          entry[key] = typeof value === 'number' ? value : tensor(Float32Array.from(value instanceof Tensor ? value.data() : value), { shape: p.shape, backend: p.backend });
        }
        return entry;
      }),
    };
  }

  /** Restores a stateDict() from an optimizer of the same kind over parameters of the same shapes. */
  loadStateDict(dict: OptimizerStateDict): void {
    const op = `${this.#name}.loadStateDict`;
    const wantHyper = Object.keys(this.hyper).sort();
    const gotHyper = Object.keys(dict.hyper ?? {}).sort();
    if (wantHyper.join() !== gotHyper.join() || wantHyper.some((k) => typeof dict.hyper[k] !== typeof this.hyper[k])) {
      throw new ValueError('hyperparameters do not match this optimizer', { op, arg: 'hyper', expected: `keys ${wantHyper.join(', ')}`, given: `keys ${gotHyper.join(', ')}` });
    }
    if (!Array.isArray(dict.state) || dict.state.length !== this.params.length) {
      throw new ValueError('state has the wrong number of parameters', { op, arg: 'state', expected: `${this.params.length} entries`, given: `${dict.state?.length ?? 'no'} entries` });
    }
    const restored = dict.state.map((entry, i): S | null => {
      if (entry === null) return null;
      const p = this.params[i]!;
      const template = this.initState(p);
      const keys = Object.keys(template).sort();
      if (keys.join() !== Object.keys(entry).sort().join()) {
        throw new ValueError('parameter state has the wrong keys', { op, arg: `state[${i}]`, expected: `keys ${keys.join(', ')}`, given: `keys ${Object.keys(entry).sort().join(', ')}` });
      }
      const out: ParamState = {};
      for (const key of keys) {
        const want = template[key]!;
        const got = entry[key]!;
        if (typeof want === 'number') {
          if (typeof got !== 'number') throw new ValueError('expected a number', { op, arg: `state[${i}].${key}`, expected: 'a number', given: String(got) });
          out[key] = got;
        } else {
          if (!(got instanceof Tensor) || got.size !== p.size) {
            throw new ShapeError('state buffer does not match its parameter', {
              op,
              arg: `state[${i}].${key}`,
              expected: `a tensor of shape ${formatShape(p.shape)}`,
              given: got instanceof Tensor ? formatShape(got.shape) : String(got),
            });
          }
          const values = Float32Array.from(got.data());
          if (want instanceof Tensor) want.backend.write(want.handle, values);
          out[key] = want instanceof Tensor ? want : values;
        }
      }
      return out as S;
    });
    Object.assign(this.hyper, dict.hyper);
    restored.forEach((s, i) => {
      this.#state[i] = s;
    });
  }
}
