// Structured JSON logs (pino) for the service; the level comes from LOG_LEVEL.
import { pino, type DestinationStream, type LogFn, type Logger } from 'pino';
import { serializeError } from './serializeError.js';

export type { Logger };

/**
 * `fields` go into every line, e.g. the replica's name so one log store can tell the instances apart; `destination`
 * defaults to stdout. Errors (under `err` or `error`, or logged directly) go through `serializeError`: no user text.
 */
export function createLogger(
  level: string,
  fields: Record<string, string> = {},
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { service: 'all-in-one', ...fields },
    serializers: { err: serializeError, error: serializeError },
    hooks: {
      // pino would take the message of an error logged on its own as the line's message — a driver's may hold user text.
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn) {
        const [first, message] = args as unknown[];
        if (first instanceof Error && typeof message !== 'string') return method.call(this, { err: first }, 'error');
        return method.apply(this, args);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
