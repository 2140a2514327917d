import { readFile, stat } from 'node:fs/promises';
import type { Tokenizer } from '@glassbox/core';
import { type Tensor, ValueError, tensor } from '@glassbox/tensor';

/** Longest sequences cut from text by default, as SAELens's usual context size for small models. */
export const DEFAULT_TEXT_CONTEXT = 128;

export interface TextTokensOptions {
  /** UTF-8 plain text file. */
  path: string;
  /** The model's tokenizer; undefined when the model was loaded without one. */
  tokenizer: Tokenizer | undefined;
  /** Tokens per sequence, BOS included; 0 means min(nCtx, 128). */
  contextSize: number;
  /** The model's context length, when known. */
  nCtx: number | undefined;
  /** The model's vocabulary size, when known: a tokenizer of another model gives ids past it. */
  dVocab?: number | undefined;
  /** Where the model came from, for messages. */
  modelPath: string;
}

export interface TextTokens {
  /** int32 [sequences, contextSize] */
  tokens: Tensor;
  contextSize: number;
  /** Whether each sequence starts with the tokenizer's BOS (then the store leaves position 0 out). */
  prependBos: boolean;
}

/**
 * Tokenizes a text file with the model's tokenizer and cuts it into sequences of `contextSize`
 * tokens, each starting with BOS where the tokenizer has one (SAELens's prepend_bos). The tail that
 * does not fill a whole sequence is dropped.
 */
export async function textTokens(options: TextTokensOptions): Promise<TextTokens> {
  const { path, tokenizer, nCtx } = options;
  if (!tokenizer) {
    throw new ValueError('this model has no tokenizer to read text with', {
      op: 'sdl',
      arg: '--text',
      expected: 'a Hugging Face model folder with tokenizer files (tokenizer.json, or vocab.json and merges.txt), or --tokens',
      given: options.modelPath || 'a model without a tokenizer',
    });
  }
  const isFile = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) throw new ValueError('no such text file', { op: 'sdl', arg: '--text', expected: 'a UTF-8 plain text file', given: path });
  const contextSize = options.contextSize > 0 ? options.contextSize : Math.min(nCtx ?? DEFAULT_TEXT_CONTEXT, DEFAULT_TEXT_CONTEXT);
  const bos = tokenizer.bosTokenId;
  const prependBos = bos !== null;
  const minimum = prependBos ? 2 : 1;
  if (contextSize < minimum || (nCtx !== undefined && contextSize > nCtx)) {
    throw new ValueError('context size out of range', {
      op: 'sdl',
      arg: '--context-size',
      expected: `between ${minimum} and the model's nCtx = ${nCtx ?? 'unknown'}${prependBos ? ' (BOS included)' : ''}`,
      given: String(contextSize),
    });
  }
  const ids = tokenizer.encode(await readFile(path, 'utf8'));
  const { dVocab } = options;
  const outside = dVocab === undefined ? undefined : bos !== null && bos >= dVocab ? bos : ids.find((id) => id >= dVocab);
  if (outside !== undefined) {
    throw new ValueError("the tokenizer gives ids outside the model's vocabulary", {
      op: 'sdl',
      arg: '--text',
      expected: `token ids below d_vocab = ${dVocab} (a tokenizer that belongs to ${options.modelPath || 'the model'})`,
      given: String(outside),
    });
  }
  const body = contextSize - (prependBos ? 1 : 0);
  const sequences = Math.floor(ids.length / body);
  if (sequences === 0) {
    throw new ValueError('the text is too short for one sequence', {
      op: 'sdl',
      arg: '--text',
      expected: `at least ${body} tokens (--context-size ${contextSize}${prependBos ? ', one of them BOS' : ''})`,
      given: `${ids.length} tokens in ${path}`,
    });
  }
  const out = new Int32Array(sequences * contextSize);
  for (let s = 0; s < sequences; s++) {
    const row = s * contextSize;
    if (prependBos) out[row] = bos;
    out.set(ids.slice(s * body, (s + 1) * body), row + (prependBos ? 1 : 0));
  }
  return { tokens: tensor(out, { shape: [sequences, contextSize] }), contextSize, prependBos };
}
