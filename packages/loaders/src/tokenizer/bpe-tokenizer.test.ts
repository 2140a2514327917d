import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../errors.ts';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './byte-level.ts';
import { loadTokenizer, tokenizerFromJson, tokenizerFromVocabAndMerges } from './load-tokenizer.ts';
import { preTokenize } from './pre-tokenize.ts';

const FOLDER = fileURLToPath(new URL('../fixtures/tokenizer/', import.meta.url));
const read = (name: string) => readFileSync(`${FOLDER}${name}`, 'utf8');

interface Case {
  text: string;
  pieces: string[] | null;
  ids: number[];
}
const corpus = JSON.parse(read('corpus.json')) as { special: string; cases: Case[] };

const fromJson = tokenizerFromJson(JSON.parse(read('tokenizer.json')));
const fromFiles = tokenizerFromVocabAndMerges(read('vocab.json'), read('merges.txt'));

describe('byte-level map', () => {
  it('is a bijection of the 256 bytes onto printable characters', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    for (let b = 0; b < 256; b++) expect(CHAR_TO_BYTE.get(BYTE_TO_CHAR[b]!)).toBe(b);
  });
});

describe('pre-tokenisation', () => {
  it.each(corpus.cases.filter((c) => c.pieces !== null))('splits $text as the reference scanner does', ({ text, pieces }) => {
    expect(preTokenize(text)).toEqual(pieces);
    expect(preTokenize(text).join('')).toBe(text);
  });
});

describe.each([
  ['tokenizer.json', fromJson],
  ['vocab.json + merges.txt', fromFiles],
])('byte-level BPE from %s', (_, tokenizer) => {
  it.each(corpus.cases)('encodes $text to the reference ids and decodes it back', ({ text, ids }) => {
    expect(tokenizer.encode(text)).toEqual(ids);
    expect(tokenizer.decode(ids)).toBe(text);
  });
});

describe('toTokens and toStrTokens', () => {
  const eot = fromJson.tokenToId('<|endoftext|>');

  it('prepends BOS by default and not when asked', () => {
    const ids = fromJson.encode('Hello world');
    const withBos = fromJson.toTokens('Hello world');
    expect(withBos.shape).toEqual([1, ids.length + 1]);
    expect(withBos.dtype).toBe('int32');
    expect(Array.from(withBos.data())).toEqual([eot, ...ids]);
    expect(Array.from(fromJson.toTokens('Hello world', { prependBos: false }).data())).toEqual(ids);
  });

  it('pads a batch on the right with the pad token', () => {
    const batch = fromJson.toTokens(['Hello world', 'Hi']);
    const long = fromJson.encode('Hello world').length + 1;
    const short = fromJson.encode('Hi').length + 1;
    expect(batch.shape).toEqual([2, long]);
    expect(Array.from(batch.data()).slice(long + short)).toEqual(new Array(long - short).fill(eot));
  });

  it('decodes each token on its own', () => {
    expect(fromJson.toStrTokens('Hello, world!')).toEqual(['<|endoftext|>', 'Hello', ',', ' world', '!']);
    expect(fromJson.toStrTokens('Hello', { prependBos: false })).toEqual(['Hello']);
    expect(fromJson.toStrTokens([eot])).toEqual(['<|endoftext|>']);
    expect(fromJson.toStrTokens('Hello').join('')).toBe('<|endoftext|>Hello');
  });

  it('round-trips the whole corpus through one batch', () => {
    const texts = corpus.cases.map((c) => c.text).filter((t) => t.length > 0);
    const batch = fromJson.toTokens(texts);
    expect(batch.shape[0]).toBe(texts.length);
  });

  it('decodes a split multi-byte character as U+FFFD, like the reference', () => {
    const [first] = fromJson.encode('🦀'); // not in the training text, so one token per byte
    expect(fromJson.decode([first!])).toBe('\uFFFD');
  });

  it('names what is wrong', () => {
    expect(() => fromJson.idToToken(100_000)).toThrow(TokenizerError);
    expect(() => fromJson.tokenToId('no such token')).toThrow(/unknown token/);
    expect(() => fromJson.toSingleToken('Hello world')).toThrow(/not a single token/);
    expect(() => fromJson.toTokens('x', { prependBos: true }).shape).not.toThrow();
  });
});

describe('loadTokenizer', () => {
  it('reads a folder, preferring tokenizer.json', async () => {
    const tokenizer = await loadTokenizer(FOLDER);
    expect(tokenizer.encode('Hello, world!')).toEqual(fromJson.encode('Hello, world!'));
    expect(tokenizer.bosTokenId).toBe(fromJson.tokenToId('<|endoftext|>'));
  });

  it('fails clearly on a folder without tokenizer files', async () => {
    await expect(loadTokenizer(fileURLToPath(new URL('../fixtures/hf/gpt2-tiny/', import.meta.url)))).rejects.toThrow(/tokenizer.json, or vocab.json and merges.txt/);
  });

  it('rejects a tokenizer.json that is not byte-level BPE', () => {
    expect(() => tokenizerFromJson({ model: { type: 'WordPiece', vocab: {} } })).toThrow(/unsupported tokenizer model/);
    expect(() => tokenizerFromJson({ model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: { type: 'Metaspace' } })).toThrow(/unsupported pre_tokenizer/);
  });

  it('applies NFC normalisation when tokenizer.json asks for it', () => {
    const json = JSON.parse(read('tokenizer.json'));
    const nfc = tokenizerFromJson({ ...json, normalizer: { type: 'NFC' } });
    expect(nfc.encode('e\u0301')).toEqual(nfc.encode('\u00e9'));
    expect(fromJson.encode('e\u0301')).not.toEqual(fromJson.encode('\u00e9'));
  });

  it('takes BOS and pad from tokenizer_config.json, and options override them', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'glassbox-tokenizer-'));
    try {
      writeFileSync(join(folder, 'tokenizer.json'), read('tokenizer.json'));
      writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify({ bos_token: { content: 'a', special: true }, pad_token: null }));
      const tokenizer = await loadTokenizer(folder);
      expect(tokenizer.bosTokenId).toBe(tokenizer.tokenToId('a'));
      expect(tokenizer.padTokenId).toBe(tokenizer.tokenToId('a'));
      expect((await loadTokenizer(folder, { bosToken: null })).bosTokenId).toBeNull();
      expect(() => tokenizer.toTokens(['x'], { prependBos: true })).not.toThrow();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('splits added tokens out of raw text, longest first, before pre-tokenisation', () => {
    const json = JSON.parse(read('tokenizer.json'));
    const vocabSize = Object.keys(json.model.vocab).length;
    const spaces = [
      { id: vocabSize, content: '   ', special: false },
      { id: vocabSize + 1, content: '  ', special: false },
    ];
    const tokenizer = tokenizerFromJson({ ...json, added_tokens: [...json.added_tokens, ...spaces] });
    const ids = tokenizer.encode('a     b');
    expect(ids.slice(1, 3)).toEqual([vocabSize, vocabSize + 1]);
    expect(tokenizer.decode(ids)).toBe('a     b');
  });
});
