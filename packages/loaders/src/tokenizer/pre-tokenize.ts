/**
 * GPT-2's pre-tokenisation pattern, which GPT-NeoX/Pythia share:
 *
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * `\s` is written as \p{White_Space}, the set the reference implementations use (JavaScript's own
 * `\s` differs: it adds U+FEFF and lacks U+0085).
 */
export const GPT2_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** Splits text into the pieces BPE then encodes one by one; the pieces concatenate back to the text. */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}
