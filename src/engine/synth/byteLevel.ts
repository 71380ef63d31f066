// GPT-2 byte-level encoding: every byte gets a printable character, so BPE tokens are plain strings.

/** Bytes that GPT-2 keeps as their own Latin-1 character; all others are shifted past U+0100. */
function isPrintableByte(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

/** Bytes in GPT-2 vocabulary order: printable ones first, then the shifted ones (so `!` is token 0). */
export const BYTE_VOCABULARY_ORDER: readonly number[] = [
  ...Array.from({ length: 256 }, (_, byte) => byte).filter(isPrintableByte),
  ...Array.from({ length: 256 }, (_, byte) => byte).filter((byte) => !isPrintableByte(byte)),
];

/** Character standing for each byte, indexed by byte value (space becomes `Ġ`, newline `Ċ`). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const chars = new Array<string>(256);
  let shifted = 0;
  for (const byte of BYTE_VOCABULARY_ORDER) {
    chars[byte] = String.fromCodePoint(isPrintableByte(byte) ? byte : 0x100 + shifted++);
  }
  return chars;
})();

/** The byte-level form of `text`, one character per UTF-8 byte. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += BYTE_TO_CHAR[byte];
  return out;
}

const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether a byte-level token decodes on its own to visible text: valid UTF-8, no control
 * characters, not only whitespace. Fragments of multi-byte characters fail this.
 */
export function isVisibleText(token: string): boolean {
  const chars = Array.from(token);
  const bytes = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) {
    const byte = CHAR_TO_BYTE.get(chars[i]!);
    if (byte === undefined) return false;
    bytes[i] = byte;
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return false;
  }
  return !/\p{Cc}/u.test(text) && text.trim() !== '';
}
