/**
 * GPT-2's reversible map from bytes to printable characters: the printable Latin-1 bytes ('!'..'~',
 * '¡'..'¬', '®'..'ÿ') stand for themselves, and the other 68 bytes, in order, take the code points
 * from U+0100 up. So the space byte 0x20 is 'Ġ' (U+0120) and the newline 0x0A is 'Ċ' (U+010A).
 */
function buildByteToChar(): string[] {
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.push(String.fromCodePoint(printable ? b : 256 + extra++));
  }
  return table;
}

/** The character each byte stands for, indexed by byte. */
export const BYTE_TO_CHAR: readonly string[] = Object.freeze(buildByteToChar());

/** The byte each byte-level character stands for. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const encoder = new TextEncoder();

/** A string's UTF-8 bytes, each written as its byte-level character. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) out += BYTE_TO_CHAR[byte]!;
  return out;
}
