// Turns generated tokens into text deltas that never split a multi-byte character.
import type { LlamaModel, Token } from 'node-llama-cpp';

/** A UTF-8 character spans at most 4 bytes, so at most 4 byte-level tokens can be pending. */
const MAX_PENDING_TOKENS = 4;
const REPLACEMENT_CHARACTER = '\uFFFD';

export class TextDeltaDecoder {
  readonly #model: LlamaModel;
  #pending: Token[] = [];

  constructor(model: LlamaModel) {
    this.#model = model;
  }

  /** Returns the text the token completes, or '' while it ends inside a character. */
  push(token: Token): string {
    this.#pending.push(token);
    const text = this.#model.detokenize(this.#pending);
    // A byte-level token can end mid-character; the decoder shows that as a trailing U+FFFD. Hold it back.
    if (text.endsWith(REPLACEMENT_CHARACTER) && this.#pending.length < MAX_PENDING_TOKENS) return '';
    this.#pending = [];
    return text;
  }

  /** Whatever is still held back (a broken character stays as U+FFFD). */
  flush(): string {
    if (this.#pending.length === 0) return '';
    const text = this.#model.detokenize(this.#pending);
    this.#pending = [];
    return text;
  }
}
