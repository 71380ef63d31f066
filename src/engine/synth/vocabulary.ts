// The tokenizer section every synthetic model carries, and the ChatML template they share.

/** llama.cpp token types (`tokenizer.ggml.token_type`). */
export const TokenType = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

/** ChatML control tokens, spelled as Qwen spells them. */
export const ChatMlToken = {
  END_OF_TEXT: '<|endoftext|>',
  IM_START: '<|im_start|>',
  IM_END: '<|im_end|>',
} as const;

export interface Vocabulary {
  /** Token texts in byte-level (GPT-2) form, indexed by id. */
  readonly tokens: readonly string[];
  /** One `TokenType` per token. */
  readonly tokenTypes: Int32Array;
  /** Merge rules as GGUF stores them: `"left right"`, highest priority first. */
  readonly merges: readonly string[];
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
}

/** Standard ChatML; llama.cpp and node-llama-cpp both recognise it. */
export const CHATML_TEMPLATE =
  '{%- for message in messages %}' +
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  '{%- endfor %}' +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
