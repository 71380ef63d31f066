// Ends each GraphQL operation's engine work when its result is final, whatever the transport.
import type { Plugin } from 'graphql-yoga';

/** What the plugin reads from the context: the operation's scope (see src/service/OperationScope.ts). */
interface ScopedContext {
  operation?: { finish(): void };
}

/**
 * A query or mutation is final when execution returns — which graphql-js does as soon as a failing non-null field
 * nulls the whole result, while sibling fields may still be waiting on the engine; a subscription when its stream
 * ends. Finishing the scope then cancels that leftover work, so nobody's engine time goes to answers never sent.
 */
export function useOperationScopes(): Plugin {
  const finish = (context: unknown): void => (context as ScopedContext).operation?.finish();
  return {
    onExecute({ args }) {
      return { onExecuteDone: () => finish(args.contextValue) };
    },
    onSubscribe({ args }) {
      return {
        onSubscribeResult: ({ result }) => {
          if (!(Symbol.asyncIterator in result)) {
            finish(args.contextValue);
            return;
          }
          return { onEnd: () => finish(args.contextValue) };
        },
        onSubscribeError: () => finish(args.contextValue),
      };
    },
  };
}
