import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenizerFromJson } from './load-tokenizer.ts';
import { preTokenize } from './pre-tokenize.ts';

const tokenizer = tokenizerFromJson(JSON.parse(readFileSync(new URL('../fixtures/tokenizer/tokenizer.json', import.meta.url), 'utf8')));

/** Well-formed strings over code points, with whitespace, apostrophes and the special token mixed in. */
const text = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom(' ', '  ', '\n', '\t', "'s", "'ll", '<|endoftext|>', 'the', ' 42')), { maxLength: 12 })
  .map((parts) => parts.join(''))
  .filter((s) => !/\p{Surrogate}/u.test(s)); // well-formed: no lone surrogates

describe('byte-level BPE properties', () => {
  it('decode(encode(text)) is the text', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(tokenizer.decode(tokenizer.encode(s))).toBe(s);
      }),
      { numRuns: 300 },
    );
  });

  it('pre-tokenisation partitions the text', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(preTokenize(s).join('')).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
});
