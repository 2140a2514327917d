import { type Tensor, crossEntropy, narrow } from '@glassbox/tensor';

/**
 * Next-token cross-entropy: the logits at position p predict the token at p + 1.
 * logits [batch, pos, d_vocab], tokens int32 [batch, pos] -> a scalar mean, or [batch, pos - 1] per token.
 */
export function lmLoss(logits: Tensor, tokens: Tensor, options: { perToken?: boolean } = {}): Tensor {
  const pos = tokens.shape[1]!;
  const predictions = narrow(logits, 1, 0, pos - 1);
  const targets = narrow(tokens, 1, 1, pos - 1);
  return crossEntropy(predictions, targets, { reduction: options.perToken ? 'none' : 'mean' });
}
