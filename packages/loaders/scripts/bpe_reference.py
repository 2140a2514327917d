#!/usr/bin/env python3
"""A small, independent byte-level BPE reference, and the tokenizer fixtures it generates.

It trains a few hundred merges on a built-in text, writes them as a Hugging Face-style tokenizer
(vocab.json + merges.txt, and the same model as tokenizer.json), and encodes a corpus of tricky
strings with its own encoder, so that the TypeScript tokenizer can be checked against expected ids.

Plain python3 only: the pre-tokenisation regex of GPT-2,

    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

is implemented as a hand-written scanner over unicodedata categories, because the standard `re`
module has no \\p{...} classes. Whitespace is the Unicode White_Space property.

Usage: python3 scripts/bpe_reference.py [out_dir]   (default: src/fixtures/tokenizer)
"""

import json
import os
import sys
import unicodedata

SPECIAL = "<|endoftext|>"
N_MERGES = 300

# The Unicode White_Space property.
WHITE_SPACE = set(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]


def bytes_to_unicode():
    """Printable bytes map to themselves; the rest to code points from 256 up, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def char_class(c):
    if c in WHITE_SPACE:
        return "s"
    cat = unicodedata.category(c)
    if cat.startswith("L"):
        return "L"
    if cat.startswith("N"):
        return "N"
    return "O"


def pretokenize(text):
    """Splits text as the GPT-2 regex does (leftmost alternative that matches, greedy runs)."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        matched = None
        for c in CONTRACTIONS:
            if text.startswith(c, i):
                matched = c
                break
        if matched is None:
            start = i + 1 if text[i] == " " and i + 1 < n and char_class(text[i + 1]) != "s" else i
            cls = char_class(text[start])
            if cls != "s":
                j = start
                while j < n and char_class(text[j]) == cls:
                    j += 1
                matched = text[i:j]
        if matched is None:
            # A whitespace run: \s+(?!\S) keeps the last space for the next word, unless the run ends the text.
            j = i
            while j < n and char_class(text[j]) == "s":
                j += 1
            if j == n or j - i == 1:
                matched = text[i:j]
            else:
                matched = text[i : j - 1]
        out.append(matched)
        i += len(matched)
    return out


def split_special(text, specials):
    """Splits out special tokens (leftmost, longest first) from ordinary text."""
    pieces = []
    i = 0
    start = 0
    ordered = sorted(specials, key=len, reverse=True)
    while i < len(text):
        hit = next((s for s in ordered if text.startswith(s, i)), None)
        if hit is None:
            i += 1
            continue
        if start < i:
            pieces.append((False, text[start:i]))
        pieces.append((True, hit))
        i += len(hit)
        start = i
    if start < len(text):
        pieces.append((False, text[start:]))
    return pieces


def to_symbols(word, table):
    return [table[b] for b in word.encode("utf-8")]


def train(text, n_merges, table):
    words = {}
    for w in pretokenize(text):
        key = tuple(to_symbols(w, table))
        words[key] = words.get(key, 0) + 1
    merges = []
    for _ in range(n_merges):
        counts = {}
        for word, freq in words.items():
            for a, b in zip(word, word[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + freq
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        merged = {}
        for word, freq in words.items():
            new = []
            k = 0
            while k < len(word):
                if k + 1 < len(word) and (word[k], word[k + 1]) == best:
                    new.append(word[k] + word[k + 1])
                    k += 2
                else:
                    new.append(word[k])
                    k += 1
            merged[tuple(new)] = merged.get(tuple(new), 0) + freq
        words = merged
    return merges


def bpe(symbols, ranks):
    """Repeatedly merges every occurrence of the lowest-ranked adjacent pair, left to right."""
    word = list(symbols)
    while len(word) > 1:
        pairs = [(ranks.get((a, b)), (a, b)) for a, b in zip(word, word[1:])]
        pairs = [p for p in pairs if p[0] is not None]
        if not pairs:
            break
        _, best = min(pairs)
        new = []
        k = 0
        while k < len(word):
            if k + 1 < len(word) and (word[k], word[k + 1]) == best:
                new.append(word[k] + word[k + 1])
                k += 2
            else:
                new.append(word[k])
                k += 1
        word = new
    return word


def encode(text, vocab, ranks, table):
    ids = []
    for special, piece in split_special(text, [SPECIAL]):
        if special:
            ids.append(vocab[piece])
            continue
        for word in pretokenize(piece):
            ids.extend(vocab[s] for s in bpe(to_symbols(word, table), ranks))
    return ids


TRAINING_TEXT = """
The quick brown fox jumps over the lazy dog. She said she'd seen it, and they'll say they've seen it too;
we're sure it's true, isn't it? I'm not. The dog didn't move: it was 1999, then 2024, and 3.14159 was pi.
Interpretability researchers study transformers, attention heads, induction heads and the residual stream.
    Indented code:  def f(x):  return x * 2  # comment
Numbers like 12345, 67890, 42 and 7 appear in the text, as do emails like test@example.com and URLs.
Café, naïve, résumé, Zürich, São Paulo, Ελληνικά, русский, 日本語, 中文, 한국어 and emoji 😀🎉👍.
The the THE tHe. Hello, world! Hello,   world!!   Tabs	and	newlines
and more newlines

and  double  spaces   everywhere.
"""

CORPUS = [
    "",
    "Hello world",
    "Hello, world!",
    " leading space",
    "trailing space ",
    "double  space",
    "many     spaces between",
    "   three leading",
    "tab\there\t\tand two",
    "line\nbreak\n\nand blank",
    "\n\n\n",
    "   ",
    " ",
    "ends with newline\n",
    "I'm sure we're fine; they've said you'll know it's John's, I'd think.",
    "DON'T SHOUT, Don'T mix: 's 't 're 've 'm 'll 'd",
    "'s at the start",
    "quotes ' ' and '' empty",
    "1999 2024 3.14159 1,000,000 007 ½ ² ٣",
    "12345678901234567890",
    "Café naïve résumé Zürich São Paulo",
    "Ελληνικά русский 日本語 中文 한국어",
    "e\u0301 combining acute (NFD) vs \u00e9 precomposed",
    "emoji 😀🎉👍 family 👨\u200d👩\u200d👧 flag 🇫🇷",
    "mixed 😀text😀 and  😀 spaces",
    "symbols: @#$%^&*()_+-=[]{}|;:,.<>/?~`",
    "email test@example.com and url https://example.com/a?b=c",
    "non\u00a0breaking\u2003em space\u3000ideographic",
    "zero\u200bwidth",
    "The quick brown fox jumps over the lazy dog.",
    "<|endoftext|>",
    "Hello<|endoftext|> world <|endoftext|><|endoftext|>",
    "<|endoftext",
    "    def f(x):\n        return x * 2  # comment\n",
    "\u0000\u0001 control\u007f chars",
    "surrogate-free high plane 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈",
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src", "fixtures", "tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    table = bytes_to_unicode()
    merges = train(TRAINING_TEXT, N_MERGES, table)
    vocab = {}
    for b in range(256):
        vocab[table[b]] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    vocab[SPECIAL] = len(vocab)
    ranks = {pair: i for i, pair in enumerate(merges)}

    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    tokenizer_json = {
        "version": "1.0",
        "added_tokens": [
            {"id": vocab[SPECIAL], "content": SPECIAL, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json, f, ensure_ascii=False)
    corpus = [{"text": t, "pieces": pretokenize(t) if SPECIAL not in t else None, "ids": encode(t, vocab, ranks, table)} for t in CORPUS]
    with open(os.path.join(out_dir, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump({"special": SPECIAL, "cases": corpus}, f, ensure_ascii=False, indent=1)
    print(f"{len(merges)} merges, {len(vocab)} tokens, {len(corpus)} corpus strings -> {out_dir}")


if __name__ == "__main__":
    main()
