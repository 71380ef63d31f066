// Caps running subscriptions per graphql-ws connection and per API key, for WebSocket and SSE alike.
import type { Plugin } from 'graphql-yoga';
import { maskError, UNEXPECTED_ERROR_MESSAGE } from '../schema/errors.js';
import { SubscriptionLimitError } from './errors.js';
import type { RequestLimits } from './requestLimits.js';

/** The per-key limit applies to callers with an API key; without keys there is no one to count per. */
export type SubscriptionLimitOptions = Pick<
  RequestLimits,
  'maxSubscriptionsPerConnection' | 'maxSubscriptionsPerKey'
>;

/** What the plugin reads from the context: graphql-ws operations carry their socket, every operation its owner. */
interface CountedContext {
  socket?: object;
  owner?: string | null;
}

export function useSubscriptionLimits(options: SubscriptionLimitOptions): Plugin {
  const perConnection = new WeakMap<object, number>();
  const perKey = new Map<string, number>();

  const take = (context: CountedContext): (() => void) | SubscriptionLimitError => {
    const { socket, owner } = context;
    if (socket && (perConnection.get(socket) ?? 0) >= options.maxSubscriptionsPerConnection) {
      return new SubscriptionLimitError({
        message: `This connection already runs ${options.maxSubscriptionsPerConnection} subscriptions; complete one first.`,
      });
    }
    if (owner != null && (perKey.get(owner) ?? 0) >= options.maxSubscriptionsPerKey) {
      return new SubscriptionLimitError({
        message: `This API key already runs ${options.maxSubscriptionsPerKey} subscriptions; complete one first.`,
      });
    }
    if (socket) perConnection.set(socket, (perConnection.get(socket) ?? 0) + 1);
    if (owner != null) perKey.set(owner, (perKey.get(owner) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (socket) perConnection.set(socket, (perConnection.get(socket) ?? 1) - 1);
      if (owner != null) {
        const left = (perKey.get(owner) ?? 1) - 1;
        if (left > 0) perKey.set(owner, left);
        else perKey.delete(owner);
      }
    };
  };

  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const taken = take(args.contextValue as CountedContext);
      if (taken instanceof SubscriptionLimitError) {
        setResultAndStopExecution({ errors: [maskError(taken, UNEXPECTED_ERROR_MESSAGE)] });
        return;
      }
      const release = taken;
      return {
        // A subscription ends by finishing, by its client leaving (return), or by an error on the stream.
        onSubscribeResult: ({ result }) => {
          if (!(Symbol.asyncIterator in result)) {
            release();
            return;
          }
          return { onEnd: release };
        },
        onSubscribeError: release,
      };
    },
  };
}
