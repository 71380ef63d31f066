// The limits on what one client may ask of the server, with their defaults (config.ts reads the variables).

export interface RequestLimits {
  /** Largest HTTP request body and WebSocket message, in bytes (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Deepest selection nesting of an operation (GRAPHQL_MAX_DEPTH). */
  maxDepth: number;
  /** Most aliases in an operation (GRAPHQL_MAX_ALIASES). */
  maxAliases: number;
  /** Most lexical tokens in a document, checked while parsing (GRAPHQL_MAX_TOKENS). */
  maxTokens: number;
  /** Highest cost of an operation: 2 per object field, 1 per scalar, growing with depth (GRAPHQL_MAX_COST). */
  maxCost: number;
  /** Most directives in an operation (GRAPHQL_MAX_DIRECTIVES). */
  maxDirectives: number;
  /** Serve schema introspection; when off, "Did you mean …" suggestions are hidden too (INTROSPECTION). */
  introspection: boolean;
  /** Subscriptions one graphql-ws connection may have running (MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  maxSubscriptionsPerConnection: number;
  /** Subscriptions one API key may run over all its connections and SSE streams (MAX_SUBSCRIPTIONS_PER_KEY). */
  maxSubscriptionsPerKey: number;
  /** How long a WebSocket may wait before `connection_init`; then it is closed with 4408 (WS_INIT_TIMEOUT_MS). */
  wsInitTimeoutMs: number;
}

export const REQUEST_LIMIT_DEFAULTS: Omit<RequestLimits, 'introspection'> = {
  // A full batch of 32 texts of 4,000 Chinese characters is about 400 kB of JSON.
  maxBodyBytes: 1_048_576,
  // The deepest useful query (conversations → edges → node → messages → sentiment → scores → field) is 7.
  maxDepth: 10,
  maxAliases: 15,
  // GraphiQL's introspection query has under 200 tokens.
  maxTokens: 1000,
  // Armor multiplies by `first`: a full page of 100 conversations with every message field costs about 11,300.
  maxCost: 40_000,
  maxDirectives: 50,
  maxSubscriptionsPerConnection: 8,
  maxSubscriptionsPerKey: 32,
  // graphql-ws's own default.
  wsInitTimeoutMs: 3000,
};
