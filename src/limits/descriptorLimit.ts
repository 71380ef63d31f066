// How many file descriptors this process may open (its soft RLIMIT_NOFILE), which the connection caps must stay under.
import { readFileSync } from 'node:fs';

/** What `unlimited` counts as: more than any default derived from it could use. */
const UNLIMITED_DESCRIPTORS = 1_048_576;

/**
 * The limit as Linux reports it in /proc/self/limits (Node raises the soft limit to the hard one at start-up, so
 * this is what the process really has); undefined where there is no /proc to read.
 */
export function readDescriptorLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+|unlimited)\s/m.exec(text)?.[1];
  if (soft === undefined) return undefined;
  return soft === 'unlimited' ? UNLIMITED_DESCRIPTORS : Number(soft);
}
