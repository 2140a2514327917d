import { AnomalyError, formatShape } from '../errors.ts';
import type { Tensor } from '../tensor.ts';
import type { OpAttrs, OpName } from './op-attrs.ts';
import { gradients } from './gradients.ts';

/** One recorded op on the tape: what produced a tensor, from which inputs. */
export interface GradNode<K extends OpName = OpName> {
  readonly op: K;
  readonly inputs: readonly Tensor[];
  readonly attrs: OpAttrs[K];
}

let gradEnabled = true;
let anomalyMode = false;
/** The op whose gradient rule is running, so anomalies inside a rule name the rule. */
let backwardOf: string | null = null;

/** Runs a gradient rule of `op`, attributing any anomaly inside it to `op backward`. */
export function inBackwardOf<T>(op: string, fn: () => T): T {
  const previous = backwardOf;
  backwardOf = op;
  try {
    return fn();
  } finally {
    backwardOf = previous;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording anything on the tape. */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Anomaly mode checks every op's output (and every gradient) for NaN and Inf, and names the first op that made one. */
export function setAnomalyMode(enabled: boolean): void {
  anomalyMode = enabled;
}

export function isAnomalyMode(): boolean {
  return anomalyMode;
}

export function checkFinite(op: string, t: Tensor, what: string): void {
  if (t.dtype !== 'float32') return;
  const data = t.data();
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      throw new AnomalyError(`${what} contains ${Number.isNaN(v) ? 'NaN' : 'Inf'}`, {
        op,
        expected: 'finite values',
        given: `${v} at flat index ${i} of a tensor of shape ${formatShape(t.shape)}`,
      });
    }
  }
}

/** Every op ends here: the output joins the tape when an input needs gradients. */
export function track<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K], output: Tensor): Tensor {
  if (anomalyMode) checkFinite(backwardOf ? `${backwardOf} backward (${op})` : op, output, 'output');
  if (gradEnabled && gradients[op] !== 'not-differentiable' && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.node = { op, inputs, attrs } as GradNode;
  }
  return output;
}
