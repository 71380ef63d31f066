// What a task is, as data: a classifier (labels read from probabilities) or an extractor (JSON under a grammar).
import type { Locale } from '../prompts.js';

export type Localized<T> = Readonly<Record<Locale, T>>;

export interface LabelDefinition {
  /** The stored and returned name, e.g. `complaint`. */
  readonly name: string;
  /** What the label means; shown in `tasks` and listed to the model in the instructions. */
  readonly description: Localized<string>;
  /**
   * Words the model may answer with for this label, per language (the first is the one the instructions name);
   * `complaint, Complaint` in English, `投诉` in Chinese.
   */
  readonly spellings: Localized<readonly string[]>;
  /** A line for the chat's system prompt when a user message gets this label (e.g. "apologise first, …"). */
  readonly steer?: Localized<string>;
}

export interface ClassifyTaskDefinition {
  readonly kind: 'classify';
  readonly name: string;
  readonly description: string;
  /** What to decide; the label list with descriptions is appended to it. */
  readonly instruction: Localized<string>;
  readonly labels: readonly LabelDefinition[];
  /**
   * The whole system text and answer lead, instead of the instruction with its label list appended and the usual
   * lead: only the built-in sentiment has it, to keep the original product's prompt (and so its scores) unchanged.
   */
  readonly prompt?: { readonly system: Localized<string>; readonly answerLead: Localized<string> };
}

/** The subset of JSON Schema an extraction's answer may be described with: bounded, so its grammar ends. */
export type ExtractSchema =
  | { readonly type: 'string'; readonly maxLength: number; readonly minLength?: number; readonly description?: string }
  | { readonly type: 'boolean' | 'null'; readonly description?: string }
  | { readonly enum: readonly (string | boolean | null)[]; readonly description?: string }
  | {
      readonly type: 'array';
      readonly items: ExtractSchema;
      readonly maxItems: number;
      readonly minItems?: number;
      readonly description?: string;
    }
  | {
      readonly type: 'object';
      readonly properties: Readonly<Record<string, ExtractSchema>>;
      readonly required?: readonly string[];
      readonly additionalProperties?: false;
      readonly description?: string;
    };

export interface ExtractTaskDefinition {
  readonly kind: 'extract';
  readonly name: string;
  readonly description: string;
  readonly instruction: Localized<string>;
  readonly schema: ExtractSchema;
  /** Most tokens the answer may take; at least what the schema's longest answer needs (checked at load). */
  readonly maxTokens?: number;
}

export type TaskDefinition = ClassifyTaskDefinition | ExtractTaskDefinition;

/** Which tasks run where, by name. */
export interface TaskSelection {
  /** What `analyze` runs when it is given no task list. */
  readonly analyze: readonly string[];
}
