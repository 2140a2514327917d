import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tokenizer } from '@glassbox/core';
import { ValueError } from '@glassbox/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelSource } from './model-source.ts';
import { textTokens } from './text-tokens.ts';

/** One token per character (its code), with BOS 0 or none. */
function charTokenizer(bosTokenId: number | null): Tokenizer {
  return { encode: (text) => Array.from(text, (c) => c.codePointAt(0)!), bosTokenId };
}

describe('textTokens', () => {
  let dir = '';
  let path = '';
  const text = 'abcdefghijklmnopqrstuvwxyz';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'glassbox-text-tokens-'));
    path = join(dir, 'text.txt');
    await writeFile(path, text);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts the text into consecutive sequences, each starting with BOS, dropping the tail', async () => {
    const { tokens, contextSize, prependBos } = await textTokens({ path, tokenizer: charTokenizer(0), contextSize: 6, nCtx: 16, modelPath: 'm' });
    expect(contextSize).toBe(6);
    expect(prependBos).toBe(true);
    // 26 characters, 5 per sequence after BOS: 5 whole sequences, 'z' left over.
    expect(tokens.shape).toEqual([5, 6]);
    expect(tokens.dtype).toBe('int32');
    const rows = Array.from({ length: 5 }, (_, s) => Array.from(tokens.data().slice(s * 6, s * 6 + 6)));
    for (const [s, row] of rows.entries()) expect(row).toEqual([0, ...Array.from(text.slice(s * 5, s * 5 + 5), (c) => c.codePointAt(0))]);
  });

  it('leaves BOS out where the tokenizer has none, and defaults to min(nCtx, 128)', async () => {
    const plain = await textTokens({ path, tokenizer: charTokenizer(null), contextSize: 0, nCtx: 13, modelPath: 'm' });
    expect(plain).toMatchObject({ contextSize: 13, prependBos: false });
    expect(Array.from(plain.tokens.data())).toEqual(Array.from(text, (c) => c.codePointAt(0)));
    await writeFile(join(dir, 'long.txt'), 'x'.repeat(300));
    const long = await textTokens({ path: join(dir, 'long.txt'), tokenizer: charTokenizer(0), contextSize: 0, nCtx: 1024, modelPath: 'm' });
    expect(long.tokens.shape).toEqual([2, 128]);
  });

  it('names what is wrong', async () => {
    const base = { path, tokenizer: charTokenizer(0), contextSize: 0, nCtx: 16, modelPath: 'm' };
    await expect(textTokens({ ...base, tokenizer: undefined })).rejects.toThrow(/no tokenizer.*--text/);
    await expect(textTokens({ ...base, path: join(dir, 'missing.txt') })).rejects.toThrow(/no such text file.*missing\.txt/);
    await expect(textTokens({ ...base, contextSize: 17 })).rejects.toThrow(/--context-size.*nCtx = 16.*given 17/);
    await expect(textTokens({ ...base, contextSize: 1 })).rejects.toThrow(ValueError);
    // 'z' is 122: a tokenizer whose ids run past the model's vocabulary belongs to another model.
    await expect(textTokens({ ...base, dVocab: 122 })).rejects.toThrow(/outside the model's vocabulary.*d_vocab = 122.*given 122/);
    expect((await textTokens({ ...base, dVocab: 123 })).tokens.shape).toEqual([1, 16]);
    await expect(textTokens({ ...base, contextSize: 28, nCtx: 64 })).rejects.toThrow(`at least 27 tokens (--context-size 28, one of them BOS); given ${text.length} tokens`);
  });

  it('is exclusive with --tokens', async () => {
    const model = { runWithHooks: () => undefined as never };
    await expect(openModelSource({ model, modelPath: 'm', hook: 'h', tokens: 't.safetensors', tokensTensor: 'tokens', text: path, tokenizer: charTokenizer(0), seed: 0 })).rejects.toThrow(
      /--text and --tokens both given/,
    );
  });
});
