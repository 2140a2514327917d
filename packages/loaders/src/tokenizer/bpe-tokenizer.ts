import { Tensor, tensor } from '@glassbox/tensor';
import { TokenizerError } from '../errors.ts';
import { CHAR_TO_BYTE, toByteLevel } from './byte-level.ts';
import { preTokenize } from './pre-tokenize.ts';

/** A token matched verbatim in raw text before pre-tokenisation, such as `<|endoftext|>`. */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

export interface BpeTokenizerOptions {
  /** Token string (in byte-level characters) → id. */
  vocab: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Merge rules, highest priority first. */
  merges: ReadonlyArray<readonly [string, string]>;
  addedTokens?: readonly AddedToken[];
  /** The token `toTokens` prepends; null for none. Defaults to `<|endoftext|>` when the vocabulary has it. */
  bosToken?: string | null;
  /** Pads shorter sequences in a batch; defaults to the BOS token. */
  padToken?: string | null;
  /** Unicode normalisation applied before pre-tokenisation (GPT-NeoX's tokenizer uses NFC). */
  normalization?: 'NFC' | 'NFKC' | null;
  /** Prepends a space to text that does not start with one, as ByteLevel's add_prefix_space does. */
  addPrefixSpace?: boolean;
  /** When true, a pre-token that is itself in the vocabulary becomes that one token, merges or not. */
  ignoreMerges?: boolean;
}

export interface ToTokensOptions {
  /** Prepend the BOS token (default true, as TransformerLens's default). */
  prependBos?: boolean;
}

const OP = 'BpeTokenizer';
const WORD_CACHE_LIMIT = 50_000;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A byte-level BPE tokenizer (GPT-2, GPT-NeoX/Pythia). Text is split around added tokens, optionally
 * normalised, pre-tokenised with GPT-2's pattern, written as byte-level characters, and then each
 * piece is merged: repeatedly, every occurrence of the adjacent pair with the best merge rank is
 * joined, left to right, until no ranked pair remains.
 */
export class BpeTokenizer {
  readonly #vocab: Map<string, number>;
  readonly #tokens: (string | undefined)[] = [];
  readonly #ranks = new Map<string, Map<string, number>>();
  readonly #added: Map<string, AddedToken>;
  readonly #addedById = new Map<number, AddedToken>();
  readonly #addedPattern: RegExp | null;
  readonly #cache = new Map<string, number[]>();
  readonly #normalization: 'NFC' | 'NFKC' | null;
  readonly #addPrefixSpace: boolean;
  readonly #ignoreMerges: boolean;
  /** The id `toTokens` prepends, or null. */
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;

  constructor(options: BpeTokenizerOptions) {
    const entries = options.vocab instanceof Map ? [...options.vocab] : Object.entries(options.vocab);
    this.#vocab = new Map(entries);
    for (const [token, id] of this.#vocab) {
      if (!Number.isSafeInteger(id) || id < 0) throw new TokenizerError('vocabulary ids must be non-negative integers', { op: OP, arg: 'vocab', given: `${JSON.stringify(token)}: ${id}` });
      this.#tokens[id] = token;
    }
    options.merges.forEach(([a, b], rank) => {
      let inner = this.#ranks.get(a);
      if (!inner) this.#ranks.set(a, (inner = new Map()));
      if (!inner.has(b)) inner.set(b, rank);
    });
    this.#added = new Map();
    for (const token of options.addedTokens ?? []) {
      this.#added.set(token.content, token);
      this.#addedById.set(token.id, token);
      this.#tokens[token.id] ??= token.content;
      if (!this.#vocab.has(token.content)) this.#vocab.set(token.content, token.id);
    }
    const contents = [...this.#added.keys()].filter((c) => c.length > 0).sort((x, y) => y.length - x.length);
    this.#addedPattern = contents.length > 0 ? new RegExp(contents.map(escapeRegExp).join('|'), 'gu') : null;
    this.#normalization = options.normalization ?? null;
    this.#addPrefixSpace = options.addPrefixSpace ?? false;
    this.#ignoreMerges = options.ignoreMerges ?? false;
    const endOfText = this.#vocab.has('<|endoftext|>') ? '<|endoftext|>' : null;
    const bos = options.bosToken === undefined ? endOfText : options.bosToken;
    this.bosTokenId = bos === null ? null : this.tokenToId(bos);
    const pad = options.padToken === undefined ? bos : options.padToken;
    this.padTokenId = pad === null ? null : this.tokenToId(pad);
  }

  /** One more than the largest id. */
  get vocabSize(): number {
    return this.#tokens.length;
  }

  tokenToId(token: string): number {
    const id = this.#vocab.get(token);
    if (id === undefined) throw new TokenizerError('unknown token', { op: `${OP}.tokenToId`, arg: 'token', given: JSON.stringify(token) });
    return id;
  }

  /** The token string of an id, in byte-level characters (added tokens as written). */
  idToToken(id: number): string {
    const token = Number.isInteger(id) ? this.#tokens[id] : undefined;
    if (token === undefined) throw new TokenizerError('unknown token id', { op: `${OP}.idToToken`, arg: 'id', expected: `an id in the vocabulary (0..${this.vocabSize - 1})`, given: String(id) });
    return token;
  }

  /** Text → token ids, without BOS. */
  encode(text: string): number[] {
    const ids: number[] = [];
    let start = 0;
    if (this.#addedPattern) {
      this.#addedPattern.lastIndex = 0;
      for (const match of text.matchAll(this.#addedPattern)) {
        this.#encodeOrdinary(text.slice(start, match.index), ids);
        ids.push(this.#added.get(match[0])!.id);
        start = match.index + match[0].length;
      }
    }
    this.#encodeOrdinary(text.slice(start), ids);
    return ids;
  }

  #encodeOrdinary(text: string, ids: number[]): void {
    if (text.length === 0) return;
    if (this.#normalization) text = text.normalize(this.#normalization);
    if (this.#addPrefixSpace && !text.startsWith(' ')) text = ` ${text}`;
    for (const piece of preTokenize(text)) {
      let cached = this.#cache.get(piece);
      if (cached === undefined) {
        cached = this.#bpe(toByteLevel(piece));
        if (this.#cache.size >= WORD_CACHE_LIMIT) this.#cache.clear();
        this.#cache.set(piece, cached);
      }
      for (const id of cached) ids.push(id);
    }
  }

  #bpe(word: string): number[] {
    if (this.#ignoreMerges && this.#vocab.has(word)) return [this.#vocab.get(word)!];
    let symbols = Array.from(word);
    while (symbols.length > 1) {
      let best = Number.POSITIVE_INFINITY;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.#ranks.get(symbols[i]!)?.get(symbols[i + 1]!);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = symbols[i]!;
          second = symbols[i + 1]!;
        }
      }
      if (best === Number.POSITIVE_INFINITY) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === first && symbols[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(symbols[i]!);
        }
      }
      symbols = merged;
    }
    return symbols.map((s) => {
      const id = this.#vocab.get(s);
      if (id === undefined) throw new TokenizerError('a BPE symbol is missing from the vocabulary (inconsistent vocab and merges)', { op: `${OP}.encode`, given: JSON.stringify(s) });
      return id;
    });
  }

  /** Token ids → text. Byte sequences that are not valid UTF-8 decode to U+FFFD, as in the reference. */
  decode(ids: Iterable<number> | Tensor): string {
    const list = ids instanceof Tensor ? Array.from(ids.data()) : Array.from(ids);
    const decoder = new TextDecoder('utf-8', { fatal: false });
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) out += decoder.decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (const id of list) {
      const added = this.#addedById.get(id);
      if (added) {
        flush();
        out += added.content;
        continue;
      }
      for (const ch of this.idToToken(id)) {
        const byte = CHAR_TO_BYTE.get(ch);
        if (byte !== undefined) bytes.push(byte);
        else {
          flush();
          out += ch;
        }
      }
    }
    flush();
    return out;
  }

  /**
   * Text (or a batch of texts) → int32 ids [batch, pos], with the BOS token first unless
   * `prependBos` is false. Shorter texts in a batch are padded on the right with the pad token.
   */
  toTokens(text: string | readonly string[], options: ToTokensOptions = {}): Tensor {
    const texts = typeof text === 'string' ? [text] : text;
    const rows = texts.map((t) => this.#withBos(this.encode(t), options));
    const pos = Math.max(1, ...rows.map((r) => r.length));
    if (rows.some((r) => r.length === 0)) throw new TokenizerError('text encodes to no tokens', { op: `${OP}.toTokens`, arg: 'text', expected: 'non-empty text, or prependBos' });
    if (rows.some((r) => r.length !== pos) && this.padTokenId === null) {
      throw new TokenizerError('texts of different lengths need a pad token', { op: `${OP}.toTokens`, arg: 'text', expected: 'a tokenizer with a pad (or BOS) token' });
    }
    const data = new Int32Array(rows.length * pos);
    rows.forEach((row, b) => {
      data.fill(this.padTokenId ?? 0, b * pos, (b + 1) * pos);
      data.set(row, b * pos);
    });
    return tensor(data, { shape: [rows.length, pos], dtype: 'int32' }); // [batch, pos]
  }

  /** Each token of a text (or of given ids) decoded on its own, BOS included unless `prependBos` is false. */
  toStrTokens(input: string | readonly number[], options: ToTokensOptions = {}): string[] {
    const ids = typeof input === 'string' ? this.#withBos(this.encode(input), options) : input;
    return ids.map((id) => this.decode([id]));
  }

  /** The id of a string that must encode to exactly one token. */
  toSingleToken(text: string): number {
    const ids = this.encode(text);
    if (ids.length !== 1) throw new TokenizerError('not a single token', { op: `${OP}.toSingleToken`, arg: 'text', expected: 'text that encodes to one token', given: `${ids.length} tokens for ${JSON.stringify(text)}` });
    return ids[0]!;
  }

  #withBos(ids: number[], options: ToTokensOptions): number[] {
    if (options.prependBos === false) return ids;
    if (this.bosTokenId === null) throw new TokenizerError('this tokenizer has no BOS token', { op: `${OP}.toTokens`, arg: 'prependBos', expected: 'false, or a tokenizer with bosToken set' });
    return [this.bosTokenId, ...ids];
  }
}
