// Structured JSON logs (pino) for the service; the level comes from LOG_LEVEL.
import { pino, type Logger } from 'pino';

export type { Logger };

/** `fields` go into every line, e.g. the replica's name so one log store can tell the instances apart. */
export function createLogger(level: string, fields: Record<string, string> = {}): Logger {
  return pino({ level, base: { service: 'all-in-one', ...fields } });
}
