import { type Dictionary, type HookedTransformer, withDictionaries } from '@glassbox/model';
import { type Tensor, crossEntropy, exp, logSoftmax, mean, mul, narrow, noGrad, sub, sum, zerosLike } from '@glassbox/tensor';

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
 * and the KL divergence from the clean next-token distribution, on int32 tokens [batch, pos]. The
 * dictionary is spliced in without its error term by `@glassbox/model`'s withDictionaries.
 */
export function downstreamMetrics(model: HookedTransformer, dictionary: Dictionary, tokens: Tensor): DownstreamMetrics {
  return noGrad(() => {
    const clean = lossAndLogProbs(model.runWithHooks(tokens, {}), tokens);
    const spliced = lossAndLogProbs(
      withDictionaries(model, [dictionary], {}, () => model.runWithHooks(tokens, {})),
      tokens,
    );
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
