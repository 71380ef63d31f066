// GraphQL document limits through GraphQL Armor (depth, aliases, tokens, cost, directives); the introspection switch.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestLimits } from './requestLimits.js';
import { useHiddenSuggestions } from './useHiddenSuggestions.js';

export type GraphQLLimits = Pick<
  RequestLimits,
  'maxDepth' | 'maxAliases' | 'maxTokens' | 'maxCost' | 'maxDirectives' | 'introspection'
>;

/**
 * Validation limits report an ordinary validation error (so every transport answers it the same way, with
 * GRAPHQL_VALIDATION_FAILED) instead of throwing out of `validate`, which graphql-ws would turn into a
 * closed socket. Armor words every refusal as a "Syntax Error"; only the token limit is one.
 */
const reportAsValidationError = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''))),
  ],
};

export function useGraphQLLimits(limits: GraphQLLimits): Plugin[] {
  const armor: Parameters<typeof EnvelopArmorPlugin>[0] = {
    maxTokens: { n: limits.maxTokens },
    maxDepth: { n: limits.maxDepth, ...reportAsValidationError },
    maxAliases: { n: limits.maxAliases, ...reportAsValidationError },
    costLimit: { maxCost: limits.maxCost, ...reportAsValidationError },
    maxDirectives: { n: limits.maxDirectives, ...reportAsValidationError },
    // Armor's own blocker knows only `Did you mean "x"?`, not enum values, nor errors from coercing variables.
    blockFieldSuggestion: { enabled: false },
  };
  const plugins: Plugin[] = [EnvelopArmorPlugin(armor)];
  if (!limits.introspection) {
    plugins.push(
      { onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) },
      // Suggestions name fields and values a client may not know about; with introspection off they would leak the schema.
      useHiddenSuggestions(),
    );
  }
  return plugins;
}
