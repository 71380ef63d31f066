// Typed errors of the evaluation harness; each `code` is stable so the CLI can report it without parsing text.

import { CodedError, type CodedErrorOptions } from '../CodedError.js';

export type EvalErrorOptions = CodedErrorOptions;

export abstract class EvalError extends CodedError {}

/** The data file (or labels file) cannot be read. */
export class DatasetUnreadableError extends EvalError {
  readonly code = 'EVAL_DATASET_UNREADABLE';
}

/** A CSV/TSV header names no known text column or no known label column. */
export class DatasetColumnsError extends EvalError {
  readonly code = 'EVAL_COLUMNS_NOT_FOUND';
}

/** Nothing usable is left once bad rows are set aside. */
export class EmptyDatasetError extends EvalError {
  readonly code = 'EVAL_NO_VALID_ROWS';
}

/** A `--label-map` value that does not parse. */
export class LabelMapError extends EvalError {
  readonly code = 'EVAL_BAD_LABEL_MAP';
}

/** `--task` names no task, or a task that is not a classifier. */
export class EvalTaskError extends EvalError {
  readonly code = 'EVAL_BAD_TASK';
}

/** An option the evaluated task does not support, such as sentiment's `--method generate` for another task. */
export class UnsupportedOptionError extends EvalError {
  readonly code = 'EVAL_UNSUPPORTED_OPTION';
}
