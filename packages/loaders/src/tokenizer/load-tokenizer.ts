import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from '@glassbox/tensor';
import { TokenizerError } from '../errors.ts';
import { type AddedToken, BpeTokenizer, type BpeTokenizerOptions } from './bpe-tokenizer.ts';

export interface LoadTokenizerOptions {
  /** Overrides the BOS token named by tokenizer_config.json / special_tokens_map.json. */
  bosToken?: string | null;
  padToken?: string | null;
}

const OP = 'loadTokenizer';

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TokenizerError(`cannot read ${JSON.stringify(path)} (${(e as Error).message})`, { op: OP, arg: 'folder' });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${JSON.stringify(path)} is not valid JSON (${(e as Error).message})`, { op: OP, arg: 'folder' });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(file: string, what: string, expected: string, given?: unknown): never {
  throw new TokenizerError(`${JSON.stringify(file)}: ${what}`, { op: OP, expected, ...(given === undefined ? {} : { given: JSON.stringify(given) }) });
}

function parseVocab(value: unknown, file: string): Record<string, number> {
  if (!isRecord(value) || !Object.values(value).every((v) => Number.isSafeInteger(v))) bad(file, 'invalid vocabulary', 'an object of token → integer id');
  return value as Record<string, number>;
}

/** Merges as "a b" lines (merges.txt, older tokenizer.json) or [a, b] pairs (newer tokenizer.json). */
function parseMerges(value: unknown, file: string): [string, string][] {
  if (!Array.isArray(value)) bad(file, 'invalid merges', 'an array of merges');
  return value.map((m, i) => {
    if (Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string')) return [m[0], m[1]] as [string, string];
    if (typeof m === 'string') {
      const space = m.indexOf(' ', 1);
      if (space > 0 && m.indexOf(' ', space + 1) < 0) return [m.slice(0, space), m.slice(space + 1)];
    }
    return bad(file, `invalid merge at index ${i}`, '"left right" or ["left", "right"]', m);
  });
}

function normalizationOf(value: unknown, file: string): BpeTokenizerOptions['normalization'] {
  if (value === null || value === undefined) return null;
  if (isRecord(value) && (value.type === 'NFC' || value.type === 'NFKC')) return value.type;
  if (isRecord(value) && value.type === 'Sequence' && Array.isArray(value.normalizers) && value.normalizers.length === 0) return null;
  return bad(file, 'unsupported normalizer', 'null, NFC or NFKC', value);
}

function byteLevelOptions(value: unknown, file: string): { addPrefixSpace: boolean } {
  const parts = isRecord(value) && value.type === 'Sequence' && Array.isArray(value.pretokenizers) ? value.pretokenizers : [value];
  if (parts.length === 1 && isRecord(parts[0]) && parts[0].type === 'ByteLevel' && parts[0].use_regex !== false) {
    return { addPrefixSpace: parts[0].add_prefix_space === true };
  }
  return bad(file, 'unsupported pre_tokenizer', 'a ByteLevel pre-tokenizer with use_regex (GPT-2, GPT-NeoX)', value);
}

/** A special token as tokenizer_config.json writes it: a string, or {content: string, ...}. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

async function specialTokens(folder: string): Promise<{ bos?: string; pad?: string }> {
  for (const name of ['tokenizer_config.json', 'special_tokens_map.json']) {
    const path = join(folder, name);
    if (!(await pathExists(path))) continue;
    const json = await readJson(path);
    if (!isRecord(json)) continue;
    const bos = tokenName(json.bos_token);
    const pad = tokenName(json.pad_token);
    if (bos !== undefined || pad !== undefined) return { ...(bos === undefined ? {} : { bos }), ...(pad === undefined ? {} : { pad }) };
  }
  return {};
}

/** Parses a Hugging Face tokenizer.json whose model is byte-level BPE. */
export function tokenizerFromJson(json: unknown, file = 'tokenizer.json', options: LoadTokenizerOptions = {}): BpeTokenizer {
  if (!isRecord(json) || !isRecord(json.model)) bad(file, 'not a tokenizer.json', 'an object with a `model`');
  const model = json.model;
  if (model.type !== undefined && model.type !== 'BPE') bad(file, 'unsupported tokenizer model', 'BPE', model.type);
  for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (typeof model[field] === 'string' && model[field] !== '') bad(file, `unsupported ${field}`, 'empty', model[field]);
  }
  const addedTokens: AddedToken[] = [];
  if (Array.isArray(json.added_tokens)) {
    for (const t of json.added_tokens) {
      if (!isRecord(t) || typeof t.content !== 'string' || !Number.isSafeInteger(t.id)) bad(file, 'invalid added token', '{id, content, special}', t);
      addedTokens.push({ id: t.id as number, content: t.content, special: t.special === true });
    }
  }
  return new BpeTokenizer({
    vocab: parseVocab(model.vocab, file),
    merges: parseMerges(model.merges ?? [], file),
    addedTokens,
    normalization: normalizationOf(json.normalizer, file),
    addPrefixSpace: json.pre_tokenizer === null || json.pre_tokenizer === undefined ? false : byteLevelOptions(json.pre_tokenizer, file).addPrefixSpace,
    ignoreMerges: model.ignore_merges === true,
    ...options,
  });
}

/** Parses vocab.json text and merges.txt text (GPT-2's original files). */
export function tokenizerFromVocabAndMerges(vocabJson: string, mergesTxt: string, options: LoadTokenizerOptions = {}): BpeTokenizer {
  let vocab: unknown;
  try {
    vocab = JSON.parse(vocabJson);
  } catch (e) {
    throw new TokenizerError(`vocab.json is not valid JSON (${(e as Error).message})`, { op: OP });
  }
  const lines = mergesTxt.split(/\r?\n/).filter((line, i) => line.length > 0 && !(i === 0 && line.startsWith('#version')));
  const parsed = parseVocab(vocab, 'vocab.json');
  // As GPT-2's original tokenizer does, the special tokens are matched whole in raw text.
  const special = new Set(['<|endoftext|>', options.bosToken, options.padToken].filter((t): t is string => typeof t === 'string' && Object.hasOwn(parsed, t)));
  const addedTokens = [...special].map((content) => ({ id: parsed[content]!, content, special: true }));
  return new BpeTokenizer({ vocab: parsed, merges: parseMerges(lines, 'merges.txt'), addedTokens, ...options });
}

/**
 * Loads the byte-level BPE tokenizer of a Hugging Face folder: tokenizer.json when present, else
 * vocab.json plus merges.txt. The BOS and pad tokens come from tokenizer_config.json or
 * special_tokens_map.json when they name them, else `<|endoftext|>`.
 */
export async function loadTokenizer(folder: string, options: LoadTokenizerOptions = {}): Promise<BpeTokenizer> {
  const special = await specialTokens(folder);
  const resolved: LoadTokenizerOptions = {
    ...(special.bos === undefined ? {} : { bosToken: special.bos }),
    ...(special.pad === undefined ? {} : { padToken: special.pad }),
    ...options,
  };
  const json = join(folder, 'tokenizer.json');
  if (await pathExists(json)) return tokenizerFromJson(await readJson(json), json, resolved);
  const vocab = join(folder, 'vocab.json');
  const merges = join(folder, 'merges.txt');
  if ((await pathExists(vocab)) && (await pathExists(merges))) {
    return tokenizerFromVocabAndMerges(await readFile(vocab, 'utf8'), await readFile(merges, 'utf8'), resolved);
  }
  throw new TokenizerError(`no tokenizer files in ${JSON.stringify(folder)}`, { op: OP, arg: 'folder', expected: 'tokenizer.json, or vocab.json and merges.txt' });
}
