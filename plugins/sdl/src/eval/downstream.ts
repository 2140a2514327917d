import { type Tensor, add, crossEntropy, exp, logSoftmax, mean, mul, narrow, noGrad, sub, sum, zerosLike } from '@glassbox/tensor';
import type { Dictionary } from '../dictionary.ts';
import type { ForwardHookFn, HookedModelLike } from '../store/hooked-model.ts';

/** Views an activation as rows of the dictionary's width (flattening heads for hook_z), and back. */
function asDictionaryInput(activation: Tensor, width: number): { x: Tensor; back: (y: Tensor) => Tensor } {
  if (activation.shape[activation.rank - 1] === width) return { x: activation, back: (y) => y };
  const x = activation.reshape([...activation.shape.slice(0, 2), -1]);
  return { x, back: (y) => y.reshape(activation.shape) };
}

export interface SpliceOptions {
  /**
   * Add back what the dictionary misses, x − x̂ (detached), so the forward pass is unchanged while
   * gradients flow through the latents: SAELens's use_error_term. Default false.
   */
  errorTerm?: boolean;
}

/**
 * Forward hooks that splice a dictionary into a model (SAELens's run_with_saes): the encoder reads
 * `hookName`, and the decoder's output replaces `outHookName` (the same hook for an SAE).
 * A generic splice belongs in @glassbox/model; this is the plugin's until then.
 */
export function spliceHooks(dictionary: Dictionary, options: SpliceOptions = {}): Array<readonly [string, ForwardHookFn]> {
  const replace = (activation: Tensor, latents: Tensor): Tensor => {
    const { x, back } = asDictionaryInput(activation, dictionary.dOut);
    const recon = dictionary.decode(latents);
    return back(options.errorTerm ? add(recon, sub(x, recon).detach()) : recon);
  };
  if (dictionary.hookName === dictionary.outHookName) {
    return [[dictionary.hookName, (activation) => replace(activation, dictionary.encode(asDictionaryInput(activation, dictionary.dIn).x))]];
  }
  let latents: Tensor | null = null;
  return [
    [
      dictionary.hookName,
      (activation) => {
        latents = dictionary.encode(asDictionaryInput(activation, dictionary.dIn).x);
      },
    ],
    [dictionary.outHookName, (activation) => (latents ? replace(activation, latents) : undefined)],
  ];
}

export interface DownstreamMetrics {
  /** Mean next-token cross-entropy of the unmodified model. */
  cleanLoss: number;
  /** With the dictionary's reconstruction in place of the activation. */
  splicedLoss: number;
  /** With the activation replaced by zeros. */
  zeroAblationLoss: number;
  /** (zero − spliced) / (zero − clean): 1 when the splice costs nothing, 0 when it is as bad as ablation. */
  ceLossRecovered: number;
  /** Mean over positions of KL(clean ‖ spliced) of the next-token distributions. */
  klDivergence: number;
  zeroAblationKl: number;
  /** (KL_zero − KL_spliced) / KL_zero, SAEBench's KL score. */
  klScore: number;
}

/** Next-token loss, and log-probabilities [batch, pos, vocab]. */
function lossAndLogProbs(logits: Tensor, tokens: Tensor): { loss: number; logProbs: Tensor } {
  const pos = tokens.shape[1]!;
  const loss = crossEntropy(narrow(logits, 1, 0, pos - 1), narrow(tokens, 1, 1, pos - 1)).item();
  return { loss, logProbs: logSoftmax(logits, -1) };
}

function kl(clean: Tensor, other: Tensor): number {
  return mean(sum(mul(exp(clean), sub(clean, other)), -1)).item();
}

/**
 * How much the model's behaviour survives the dictionary: CE loss recovered against zero ablation
 * and the KL divergence from the clean next-token distribution, on int32 tokens [batch, pos].
 */
export function downstreamMetrics(model: HookedModelLike, dictionary: Dictionary, tokens: Tensor): DownstreamMetrics {
  return noGrad(() => {
    const clean = lossAndLogProbs(model.runWithHooks(tokens, {}), tokens);
    const spliced = lossAndLogProbs(model.runWithHooks(tokens, { fwdHooks: spliceHooks(dictionary) }), tokens);
    const zero = lossAndLogProbs(model.runWithHooks(tokens, { fwdHooks: [[dictionary.outHookName, (activation) => zerosLike(activation)]] }), tokens);
    const klDivergence = kl(clean.logProbs, spliced.logProbs);
    const zeroAblationKl = kl(clean.logProbs, zero.logProbs);
    return {
      cleanLoss: clean.loss,
      splicedLoss: spliced.loss,
      zeroAblationLoss: zero.loss,
      ceLossRecovered: (zero.loss - spliced.loss) / (zero.loss - clean.loss),
      klDivergence,
      zeroAblationKl,
      klScore: zeroAblationKl > 0 ? (zeroAblationKl - klDivergence) / zeroAblationKl : Number.NaN,
    };
  });
}
