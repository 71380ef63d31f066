// A small client of the service over HTTP (fetch): GraphQL operations and plain GETs (the results files), one key.
import { CodedError } from '../CodedError.js';

export interface ServiceClientOptions {
  /** The service's base URL, e.g. `http://127.0.0.1:4000`. */
  url: string;
  /** Sent as `Authorization: Bearer <key>` when the service has API_KEYS. */
  apiKey?: string;
  signal?: AbortSignal;
}

/** The service refused or failed an operation: `code` is its `extensions.code` (or HTTP_<status>, UNREACHABLE). */
export class ServiceError extends CodedError {
  readonly code: string;

  constructor({ code, message, cause }: { code: string; message: string; cause?: unknown }) {
    super({ message, cause });
    this.code = code;
  }
}

export interface ServiceClient {
  /** Runs a query or mutation and resolves with its `data`; any error in the answer rejects with a ServiceError. */
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** GETs `path` (e.g. `/jobs/<id>/results.csv`) and resolves with the response once it answered 200. */
  get(path: string): Promise<Response>;
}

interface GraphQLAnswer {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export function createServiceClient({ url, apiKey, signal }: ServiceClientOptions): ServiceClient {
  const base = url.replace(/\/+$/, '');
  const authorization: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};

  async function send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, { ...init, headers: { ...authorization, ...init.headers }, signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new ServiceError({ code: 'UNREACHABLE', message: `${base} cannot be reached: ${reason}`, cause: error });
    }
  }

  return {
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const response = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      });
      const answer = (await response.json().catch(() => null)) as GraphQLAnswer | null;
      const error = answer?.errors?.[0];
      if (error) {
        const code = error.extensions?.code ?? `HTTP_${response.status}`;
        throw new ServiceError({ code, message: `${error.message} (${code})` });
      }
      if (!response.ok || answer?.data === undefined || answer.data === null) {
        throw new ServiceError({ code: `HTTP_${response.status}`, message: `${base}/graphql answered HTTP ${response.status}` });
      }
      return answer.data as T;
    },

    async get(path: string): Promise<Response> {
      const response = await send(path, { method: 'GET' });
      if (response.ok) return response;
      const body = (await response.json().catch(() => null)) as GraphQLAnswer | null;
      const error = body?.errors?.[0];
      const code = error?.extensions?.code ?? `HTTP_${response.status}`;
      throw new ServiceError({ code, message: `${base}${path}: ${error?.message ?? `HTTP ${response.status}`} (${code})` });
    },
  };
}
