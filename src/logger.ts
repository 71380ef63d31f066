// Structured JSON logs (pino) for the service; the level comes from LOG_LEVEL.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'all-in-one' } });
}
