// How big a TASKS_FILE and its tasks may be: checked before anything recursive or costly runs (README, Tasks).

/**
 * Every limit a task file is held to. Each keeps start-up bounded — parsing, grammar building, the instructions'
 * warm-up — and keeps every call's cost bounded (whole-label scoring decodes each spelling; a grammar grows with its
 * schema). The numbers are far above what a useful task needs (the examples use a tenth of them).
 */
export const TASK_LIMITS = {
  /** Bytes of the file itself, checked before it is read. */
  fileBytes: 1_048_576,
  /** Brackets open at once anywhere in the file, checked before it is parsed (a YAML parser recurses per level). */
  fileNesting: 64,
  /** Tasks in the file (the built-ins come on top). */
  tasks: 200,
  /** Labels of one classify task. */
  labelsPerTask: 20,
  /** Spellings of one label, per language. */
  spellingsPerLabel: 10,
  /** Spellings of all of a task's labels together, per language: whole-label scoring decodes each one per call. */
  spellingsPerTask: 100,
  /** Characters of an instruction, a description or a steer line; the prompt must also fit the context (tokens). */
  textChars: 2000,
  /** Nodes (string, array, object, enum, … each counts one) in an extraction's schema. */
  schemaNodes: 500,
  /** Levels of an extraction's schema: a top-level string is 1, an array of strings 2. */
  schemaDepth: 8,
  /** Properties of one object in a schema. */
  schemaProperties: 64,
  /** Values of one enum. */
  enumValues: 256,
  /** Tokens an extraction's answer may take (its `maxTokens`, or the bound worked out from its schema). */
  answerTokens: 4096,
} as const;

/**
 * Tokens left for the user's text when a task's instructions, its answer and the prompt's suffix are in the context;
 * a task that leaves less could only ever refuse its calls, so it is refused at load instead.
 */
export const MIN_TEXT_TOKENS = 64;
