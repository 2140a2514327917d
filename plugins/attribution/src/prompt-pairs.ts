import { type Generator, type Tensor, ValueError, tensor } from '@glassbox/tensor';

/**
 * Prompt pairs: a clean prompt and a corrupted version of it, row by row. Activation patching,
 * attribution and circuit evaluation compare the model on the two.
 */
export interface PromptPairs {
  readonly clean: Tensor; // int32 [batch, pos]
  readonly corrupted: Tensor; // int32 [batch, pos]
}

/** Checks that the two token tensors are int32 [batch, pos] of one shape. */
export function checkPairs(op: string, pairs: PromptPairs): { batch: number; pos: number } {
  const { clean, corrupted } = pairs;
  const ok = clean.rank === 2 && corrupted.rank === 2 && clean.shape[0] === corrupted.shape[0] && clean.shape[1] === corrupted.shape[1];
  if (!ok || clean.dtype !== 'int32' || corrupted.dtype !== 'int32') {
    throw new ValueError('clean and corrupted prompts must be int32 [batch, pos] of one shape', {
      op,
      arg: 'pairs',
      expected: 'two int32 tensors [batch, pos] of equal shape',
      given: `clean ${clean.dtype} [${clean.shape.join(', ')}], corrupted ${corrupted.dtype} [${corrupted.shape.join(', ')}]`,
    });
  }
  return { batch: clean.shape[0]!, pos: clean.shape[1]! };
}

/** Prompt pairs with the answers a metric scores: per position, -1 where nothing is scored. */
export interface ScoredPairs extends PromptPairs {
  readonly answers: Tensor; // int32 [batch, pos] or [batch] (read at the last position)
  /** Competing answers of the same shape, for difference metrics. */
  readonly wrong?: Tensor;
}

export interface RepeatedTokenPairsOptions {
  batch: number;
  /** Length of the random segment r; prompts are [BOS, r, r], 1 + 2·halfLen tokens. */
  halfLen: number;
  dVocab: number;
  /** The BOS id (default 0); r is drawn from the other ids. */
  bos?: number;
  /**
   * Which copy the corrupted prompt resamples (default 'first'): either way the corrupted prompt has
   * no repetition, so an induction head has nothing to copy.
   */
  corrupt?: 'first' | 'second';
}

/**
 * The induction task: clean = [BOS, r, r], corrupted = the same with one copy of r replaced by fresh
 * random tokens r′ (r′_i ≠ r_i). At every position of the second copy but its last, the answer is the
 * clean next token (what an induction head predicts) and the wrong answer the corrupted prompt's
 * next token at that position's match in r′ (first-copy corruption) or in the corrupted second copy.
 */
export function repeatedTokenPairs(generator: Generator, options: RepeatedTokenPairsOptions): ScoredPairs {
  const { batch, halfLen, dVocab, bos = 0, corrupt = 'first' } = options;
  if (!Number.isInteger(halfLen) || halfLen < 2 || dVocab < 3) {
    throw new ValueError('bad repeated-token task', { op: 'repeatedTokenPairs', arg: 'options', expected: 'halfLen >= 2 and dVocab >= 3', given: JSON.stringify(options) });
  }
  const pos = 1 + 2 * halfLen;
  const draw = (avoid: number) => {
    for (;;) {
      const t = generator.randint(0, dVocab);
      if (t !== bos && t !== avoid) return t;
    }
  };
  const clean = new Int32Array(batch * pos);
  const corrupted = new Int32Array(batch * pos);
  const answers = new Int32Array(batch * pos).fill(-1);
  const wrong = new Int32Array(batch * pos).fill(-1);
  for (let b = 0; b < batch; b++) {
    const row = b * pos;
    clean[row] = corrupted[row] = bos;
    for (let i = 0; i < halfLen; i++) {
      const t = draw(bos);
      const fresh = draw(t);
      clean[row + 1 + i] = clean[row + 1 + halfLen + i] = t;
      corrupted[row + 1 + i] = corrupt === 'first' ? fresh : t;
      corrupted[row + 1 + halfLen + i] = corrupt === 'first' ? t : fresh;
    }
    for (let p = halfLen + 1; p < pos - 1; p++) {
      answers[row + p] = clean[row + p + 1]!;
      wrong[row + p] = corrupt === 'first' ? corrupted[row + p + 1 - halfLen]! : corrupted[row + p + 1]!;
    }
  }
  const shape = [batch, pos];
  return {
    clean: tensor(clean, { shape }),
    corrupted: tensor(corrupted, { shape }),
    answers: tensor(answers, { shape }),
    wrong: tensor(wrong, { shape }),
  };
}
