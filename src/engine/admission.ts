// What every job is checked and submitted with: its prompt fits a sequence, and the caller's fairness key and signal.
import { BadInputError } from './errors.js';
import type { JobOptions } from './types.js';

/** Refused before any work, never shifted: a prompt longer than a sequence holds. */
export function assertFits(contextSize: number, tokens: number, what: string): void {
  if (tokens <= contextSize) return;
  throw new BadInputError({
    message: `The ${what} needs ${tokens} prompt tokens, more than the ${contextSize}-token context; shorten it.`,
  });
}

export function jobOptionsOf(options: JobOptions): Pick<JobOptions, 'key' | 'signal'> {
  return {
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}
