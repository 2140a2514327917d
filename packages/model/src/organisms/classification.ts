import { type Tensor, argmax, crossEntropy, eq, narrow, noGrad, squeeze, tidy } from '@glassbox/tensor';
import type { HookedTransformer } from '../hooked-transformer.ts';

// tokens [batch, pos] -> the logits at the last position [batch, d_vocab_out]
export function lastLogits(model: HookedTransformer, tokens: Tensor): Tensor {
  const logits = model.forward(tokens);
  return squeeze(narrow(logits, 1, logits.shape[1]! - 1, 1), 1);
}

/** Cross-entropy of the last position's logits against int32 labels [batch]. */
export function lastTokenLoss(model: HookedTransformer, tokens: Tensor, labels: Tensor): Tensor {
  return crossEntropy(lastLogits(model, tokens), labels);
}

/** Fraction of examples whose last-position argmax equals the label. */
export function lastTokenAccuracy(model: HookedTransformer, tokens: Tensor, labels: Tensor): number {
  return noGrad(() => eq(argmax(lastLogits(model, tokens), -1), labels).cast('float32').mean().item());
}

/** Loss and accuracy of the last position from one forward pass, without gradients. */
export function lastTokenMetrics(model: HookedTransformer, tokens: Tensor, labels: Tensor): { loss: number; accuracy: number } {
  return tidy(() =>
    noGrad(() => {
      const logits = lastLogits(model, tokens);
      return { loss: crossEntropy(logits, labels).item(), accuracy: eq(argmax(logits, -1), labels).cast('float32').mean().item() };
    }),
  );
}
