import { type Tensor, narrow, noGrad } from '@glassbox/tensor';
import type { Dictionary } from '@glassbox/model';
import { type HookedModelLike, captureActivation } from '../store/hooked-model.ts';
import { type LatentExamples, TopExamplesCollector, type TopExamplesOptions } from './top-examples.ts';

/** Where an example comes from, with the tokens around it. */
export interface TokenContext {
  sequence: number;
  position: number;
  /** Token ids from position − before to position + after, clipped to the sequence. */
  window: number[];
  /** Index of the example's own token within `window`. */
  focus: number;
}

export interface ModelExamplesOptions extends TopExamplesOptions {
  /** Tokens of context before and after the example; default 8 and 2. */
  before?: number;
  after?: number;
  /** Sequences per forward pass; default 8. */
  sequencesPerForward?: number;
  /** Positions holding these ids (BOS, pad) are skipped. */
  excludeTokenIds?: readonly number[];
}

/**
 * Runs the model over int32 tokens [n_seqs, seq_len], encodes the dictionary's hook with it, and
 * returns each latent's max-activating examples with their context windows and activation
 * quantiles.
 */
export function modelTopExamples(model: HookedModelLike, dictionary: Dictionary, tokens: Tensor, options: ModelExamplesOptions = {}): LatentExamples<TokenContext>[] {
  const { before = 8, after = 2, sequencesPerForward = 8, excludeTokenIds = [] } = options;
  const excluded = new Set(excludeTokenIds);
  const collector = new TopExamplesCollector<TokenContext>(dictionary.dSae, options);
  const [seqs, len] = [tokens.shape[0]!, tokens.shape[1]!];
  const ids = tokens.data();
  for (let start = 0; start < seqs; start += sequencesPerForward) {
    const size = Math.min(sequencesPerForward, seqs - start);
    const latents = noGrad(() => {
      const act = captureActivation(model, narrow(tokens, 0, start, size), dictionary.hookName);
      return dictionary.encode(act.reshape([size * len, -1])).data() as Float32Array;
    });
    const contexts: TokenContext[] = [];
    const keep: number[] = [];
    for (let s = 0; s < size; s++) {
      const sequence = start + s;
      const row = Array.from(ids.subarray(sequence * len, (sequence + 1) * len));
      for (let p = 0; p < len; p++) {
        if (excluded.has(row[p]!)) continue;
        const from = Math.max(0, p - before);
        keep.push(s * len + p);
        contexts.push({ sequence, position: p, window: row.slice(from, Math.min(len, p + after + 1)), focus: p - from });
      }
    }
    const width = dictionary.dSae;
    const kept = new Float32Array(keep.length * width);
    keep.forEach((r, i) => {
      kept.set(latents.subarray(r * width, (r + 1) * width), i * width);
    });
    collector.add(kept, contexts);
  }
  return collector.result();
}
