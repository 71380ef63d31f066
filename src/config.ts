// The only reader of process.env: a typed, validated configuration, with a bad variable reported by name.
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_FILE_CHECK_INTERVAL_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type OpenRepositoryOptions,
} from './db/index.js';
import {
  DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS,
  ENGINE_DEFAULTS,
  loadTaskDefinitions,
  TaskDefinitionError,
  type EngineOptions,
  type TaskCatalog,
} from './engine/index.js';
import {
  defaultMaxConnections,
  MIN_DESCRIPTOR_RESERVE,
  MIN_HTTP_HEADROOM,
  webSocketLimitDefaults,
  type ConnectionLimits,
} from './limits/connectionLimits.js';
import { ConfigError, EnvReader, type Env } from './EnvReader.js';
import { readDescriptorLimit } from './limits/descriptorLimit.js';
import { REQUEST_LIMIT_DEFAULTS, type RequestLimits } from './limits/requestLimits.js';
import { MIN_API_KEY_CHARS } from './security/apiKeys.js';
import { DEFAULT_MAX_OPERATION_TEXTS } from './service/OperationScope.js';
import { DEFAULT_JOB_LIMITS } from './service/analysisJobs.js';
import { DEFAULT_CHAT_TASKS } from './service/chat.js';
import type { ServicesOptions } from './service/createServices.js';

export { ConfigError };

export const DEFAULT_MODEL = 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf';
/** TASK_STATES_DIR's default, inside MODELS_DIR. */
const DEFAULT_TASK_STATES_FOLDER = 'task-states';

/** The HTTP and WebSocket surface's settings: createApp's. */
export interface HttpConfig {
  host: string;
  port: number;
  /** Browser origins allowed to call the API from their own pages (ALLOWED_ORIGINS); `*` any. */
  allowedOrigins: readonly string[];
  /** Host names the service answers to besides loopback, addresses and HOST (ALLOWED_HOSTS); `*` any. */
  allowedHosts: readonly string[];
  /** Serve GraphiQL at GET /graphql. */
  playground: boolean;
  /** Bearer secrets (API_KEYS); empty leaves the API open. Never logged. */
  apiKeys: readonly string[];
  /** `GET /metrics` needs an API key too (METRICS_AUTH; on by default when API_KEYS is set). */
  metricsAuth: boolean;
  /** What one client may ask of the server: body size, GraphQL document limits, subscriptions. */
  limits: RequestLimits;
  /** How many connections, and WebSockets of each kind, the server holds at once. */
  connections: ConnectionLimits;
}

/**
 * The engine's settings, in the shape `Engine.load` takes (callbacks and progress bars are added where it is loaded).
 * `taskStatesDir` undefined: TASK_STATES_DIR is `off`; `huggingFaceEndpoint` undefined: huggingface.co.
 */
export type EngineConfig = Required<
  Omit<
    EngineOptions,
    | 'taskStatesDir'
    | 'huggingFaceEndpoint'
    | 'mutexScope'
    | 'fillGaps'
    | 'downloadProgress'
    | 'onWarning'
    | 'onWarmUp'
    | 'onJobFinished'
    | 'onCycle'
  >
> &
  Pick<EngineOptions, 'taskStatesDir' | 'huggingFaceEndpoint'>;

/**
 * Both dialects' settings, so a `--db` flag can switch dialect and keep them; `openOptionsOf` picks the one to open:
 * PostgreSQL when `url` (DATABASE_URL) is set, otherwise the SQLite file.
 */
export interface DatabaseConfig {
  /** A postgres:// URL (DATABASE_URL): the shared PostgreSQL of several replicas instead of the SQLite file. */
  url: string | undefined;
  postgres: Omit<Extract<OpenRepositoryOptions, { dialect: 'postgres' }>, 'url'>;
  sqlite: Extract<OpenRepositoryOptions, { dialect: 'sqlite' }>;
}

/** The settings the service layer takes besides its repository and engine. */
export type ServiceConfig = Required<Pick<ServicesOptions, 'chatTasks' | 'maxOperationTexts' | 'jobLimits'>>;

/** A claim on an analysis job's items lasts this long unless renewed; a dead replica's items are taken over after it. */
export const DEFAULT_JOB_LEASE_MS = 60_000;

/** This process's part in running analysis jobs. */
export interface JobWorkerConfig {
  /** Run job items here (JOB_WORKER); false: this replica only serves the API, others run the jobs. */
  enabled: boolean;
  /** JOB_LEASE_MS. */
  leaseMs: number;
}

export interface AppConfig {
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * This instance's name (REPLICA_NAME): a `replica` label on every metric, a field in every log line, the PostgreSQL
   * application name. Defaults to host:port with DATABASE_URL (replicas share a database), and to none on SQLite.
   */
  replicaName: string | undefined;
  http: HttpConfig;
  engine: EngineConfig;
  database: DatabaseConfig;
  service: ServiceConfig;
  jobWorker: JobWorkerConfig;
}

/** `descriptorLimit`: how many files the process may open (read from /proc when not given); it sizes the connection caps. */
export function loadConfig(env: Env = process.env, descriptorLimit = readDescriptorLimit()): AppConfig {
  const read = new EnvReader(env);
  const port = read.integer('PORT', 4000, { min: 0, max: 65_535 });
  const databaseUrl = read.postgresUrl('DATABASE_URL');
  // Host and port tell apart replicas on one machine as well as on many; one SQLite file has one instance.
  const replicaName = read.optional('REPLICA_NAME') ?? (databaseUrl === undefined ? undefined : `${os.hostname()}:${port}`);
  const { tasks, chatTasks } = readTasks(read);
  return {
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    replicaName,
    http: {
      host: read.string('HOST', '127.0.0.1'),
      port,
      allowedOrigins: read.list('ALLOWED_ORIGINS', parseOrigin),
      allowedHosts: read.list('ALLOWED_HOSTS', parseHostPattern),
      playground: read.boolean('PLAYGROUND', true),
      apiKeys: read.secrets('API_KEYS', MIN_API_KEY_CHARS),
      metricsAuth: readMetricsAuth(read),
      limits: readRequestLimits(read),
      connections: readConnectionLimits(read, descriptorLimit),
    },
    engine: {
      model: read.string('MODEL', DEFAULT_MODEL),
      modelsDir: path.resolve(read.string('MODELS_DIR', './models')),
      taskStatesDir: readTaskStatesDir(read),
      huggingFaceEndpoint: read.url('HF_ENDPOINT'),
      downloadConnectTimeoutMs: read.integer('MODEL_CONNECT_TIMEOUT_MS', DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS, {
        min: 100,
        max: 600_000,
      }),
      gpu: read.oneOf('GPU', ['off', 'auto'], ENGINE_DEFAULTS.gpu),
      threads: read.integer('THREADS', os.availableParallelism(), { min: 1, max: 256 }),
      // Node's own variable, read here only to report it: `npm start` sets it to 1 before Node starts the pool.
      threadPoolSize: read.integer('UV_THREADPOOL_SIZE', ENGINE_DEFAULTS.threadPoolSize, { min: 1, max: 1024 }),
      contextSize: read.integer('CONTEXT_SIZE', ENGINE_DEFAULTS.contextSize, { min: 256, max: 131_072 }),
      batchSize: read.integer('BATCH_SIZE', ENGINE_DEFAULTS.batchSize, { min: 16, max: 8192 }),
      warmConversations: read.integer('WARM_CONVERSATIONS', ENGINE_DEFAULTS.warmConversations, { min: 1, max: 64 }),
      maxParallelReplies: read.integer('MAX_PARALLEL_REPLIES', ENGINE_DEFAULTS.maxParallelReplies, { min: 1, max: 64 }),
      taskSequences: read.integer('TASK_SEQUENCES', ENGINE_DEFAULTS.taskSequences, { min: 1, max: 16 }),
      backgroundSequences: read.integer('JOB_SEQUENCES', ENGINE_DEFAULTS.backgroundSequences, { min: 0, max: 16 }),
      backgroundSharePercent: read.integer('JOB_MIN_SHARE', ENGINE_DEFAULTS.backgroundSharePercent, { min: 0, max: 50 }),
      runtime: read.oneOf('LLAMA_RUNTIME', ['auto', 'native', 'prebuilt'], ENGINE_DEFAULTS.runtime),
      kvCacheType: read.oneOf('KV_CACHE_TYPE', ['q8_0', 'f16'], ENGINE_DEFAULTS.kvCacheType),
      tasks,
      useMmap: read.boolean('USE_MMAP', ENGINE_DEFAULTS.useMmap),
      maxQueue: read.integer('MAX_QUEUE', ENGINE_DEFAULTS.maxQueue, { min: 0, max: 10_000 }),
      maxQueuePerKey: read.integer('MAX_QUEUE_PER_KEY', ENGINE_DEFAULTS.maxQueuePerKey, { min: 0, max: 10_000 }),
      jobTimeoutMs: read.integer('JOB_TIMEOUT_MS', ENGINE_DEFAULTS.jobTimeoutMs, { min: 100, max: 3_600_000 }),
      maxInputChars: read.integer('MAX_INPUT_CHARS', ENGINE_DEFAULTS.maxInputChars, { min: 1, max: 1_000_000 }),
      maxBatchTexts: read.integer('MAX_BATCH_TEXTS', ENGINE_DEFAULTS.maxBatchTexts, { min: 1, max: 1000 }),
    },
    database: {
      url: databaseUrl,
      postgres: {
        dialect: 'postgres',
        poolSize: read.integer('DATABASE_POOL_SIZE', DEFAULT_POOL_SIZE, { min: 1, max: 1000 }),
        connectTimeoutMs: read.integer('DATABASE_CONNECT_TIMEOUT_MS', DEFAULT_CONNECT_TIMEOUT_MS, {
          min: 100,
          max: 600_000,
        }),
        statementTimeoutMs: read.integer('DATABASE_STATEMENT_TIMEOUT_MS', DEFAULT_STATEMENT_TIMEOUT_MS, {
          min: 0,
          max: 3_600_000,
        }),
        applicationName: replicaName === undefined ? 'all-in-one' : `all-in-one ${replicaName}`,
      },
      sqlite: {
        dialect: 'sqlite',
        path: path.resolve(read.string('DATABASE_PATH', './data/all-in-one.db')),
        busyTimeoutMs: read.integer('DATABASE_BUSY_TIMEOUT_MS', DEFAULT_BUSY_TIMEOUT_MS, { min: 0, max: 600_000 }),
        fileCheckIntervalMs: read.integer('DATABASE_FILE_CHECK_MS', DEFAULT_FILE_CHECK_INTERVAL_MS, {
          min: 10,
          max: 600_000,
        }),
      },
    },
    service: {
      chatTasks,
      maxOperationTexts: read.integer('MAX_OPERATION_TEXTS', DEFAULT_MAX_OPERATION_TEXTS, { min: 1, max: 100_000 }),
      jobLimits: {
        maxItems: read.integer('MAX_JOB_ITEMS', DEFAULT_JOB_LIMITS.maxItems, { min: 1, max: 100_000_000 }),
        maxItemsPerCall: read.integer('MAX_JOB_ITEMS_PER_CALL', DEFAULT_JOB_LIMITS.maxItemsPerCall, { min: 1, max: 100_000 }),
        maxActiveJobs: read.integer('MAX_JOBS_PER_KEY', DEFAULT_JOB_LIMITS.maxActiveJobs, { min: 1, max: 10_000 }),
      },
    },
    jobWorker: {
      enabled: read.boolean('JOB_WORKER', true),
      // Renewed every third of it: under a second would renew faster than the database should be asked.
      leaseMs: read.integer('JOB_LEASE_MS', DEFAULT_JOB_LEASE_MS, { min: 3000, max: 3_600_000 }),
    },
  };
}

/** What `openRepository` opens: PostgreSQL when DATABASE_URL (or `--db`) gave a URL, otherwise the SQLite file. */
export function openOptionsOf(database: DatabaseConfig): OpenRepositoryOptions {
  return database.url === undefined ? database.sqlite : { ...database.postgres, url: database.url };
}

function readTasks(read: EnvReader): { tasks: TaskCatalog; chatTasks: readonly string[] } {
  const file = read.optional('TASKS_FILE');
  let tasks: TaskCatalog;
  try {
    tasks = loadTaskDefinitions(file === undefined ? undefined : path.resolve(file));
  } catch (error) {
    if (!(error instanceof TaskDefinitionError)) throw error;
    throw new ConfigError({ variable: 'TASKS_FILE', message: error.message });
  }
  const chatTasks = read.list('CHAT_TASKS', (name) => {
    if (name === NO_CHAT_TASKS) return name;
    if (!tasks.tasks.some((task) => task.name === name)) {
      throw new Error(`no such task; the tasks are ${tasks.tasks.map((task) => task.name).join(', ')}`);
    }
    return name;
  });
  if (chatTasks.includes(NO_CHAT_TASKS)) {
    if (chatTasks.length > 1) throw new ConfigError({ variable: 'CHAT_TASKS', message: `${NO_CHAT_TASKS} stands alone` });
    if (tasks.tasks.some((task) => task.name === NO_CHAT_TASKS)) {
      throw new ConfigError({
        variable: 'CHAT_TASKS',
        message: `${NO_CHAT_TASKS} means no tasks, but TASKS_FILE has a task of that name: rename it to run it in the chat`,
      });
    }
    return { tasks, chatTasks: [] };
  }
  return { tasks, chatTasks: chatTasks.length > 0 ? [...new Set(chatTasks)] : DEFAULT_CHAT_TASKS };
}

/** CHAT_TASKS' value for chat messages with no tasks: no verdict before the reply, nothing stored beside the message. */
const NO_CHAT_TASKS = 'none';

/** A folder, `off`, or by default MODELS_DIR's `task-states` (beside the models the states belong to). */
function readTaskStatesDir(read: EnvReader): string | undefined {
  const raw = read.string('TASK_STATES_DIR', path.join(read.string('MODELS_DIR', './models'), DEFAULT_TASK_STATES_FOLDER));
  return raw === 'off' ? undefined : path.resolve(raw);
}

function readMetricsAuth(read: EnvReader): boolean {
  const keys = read.secrets('API_KEYS', MIN_API_KEY_CHARS).length > 0;
  const metricsAuth = read.boolean('METRICS_AUTH', keys);
  if (metricsAuth && !keys) {
    throw new ConfigError({ variable: 'METRICS_AUTH', message: 'needs API_KEYS (the keys /metrics would accept)' });
  }
  return metricsAuth;
}

function readRequestLimits(read: EnvReader): RequestLimits {
  const defaults = REQUEST_LIMIT_DEFAULTS;
  return {
    maxBodyBytes: read.integer('MAX_BODY_BYTES', defaults.maxBodyBytes, { min: 1024, max: 1_073_741_824 }),
    maxDepth: read.integer('GRAPHQL_MAX_DEPTH', defaults.maxDepth, { min: 1, max: 1000 }),
    maxAliases: read.integer('GRAPHQL_MAX_ALIASES', defaults.maxAliases, { min: 0, max: 100_000 }),
    maxTokens: read.integer('GRAPHQL_MAX_TOKENS', defaults.maxTokens, { min: 10, max: 1_000_000 }),
    maxCost: read.integer('GRAPHQL_MAX_COST', defaults.maxCost, { min: 1, max: 100_000_000 }),
    maxDirectives: read.integer('GRAPHQL_MAX_DIRECTIVES', defaults.maxDirectives, { min: 0, max: 100_000 }),
    // Open while developing; closed in production unless asked for.
    introspection: read.boolean('INTROSPECTION', read.string('NODE_ENV', 'development') !== 'production'),
    maxSubscriptionsPerConnection: read.integer('MAX_SUBSCRIPTIONS_PER_CONNECTION', defaults.maxSubscriptionsPerConnection, {
      min: 1,
      max: 10_000,
    }),
    maxSubscriptionsPerKey: read.integer('MAX_SUBSCRIPTIONS_PER_KEY', defaults.maxSubscriptionsPerKey, {
      min: 1,
      max: 100_000,
    }),
    wsInitTimeoutMs: read.integer('WS_INIT_TIMEOUT_MS', defaults.wsInitTimeoutMs, { min: 100, max: 600_000 }),
  };
}

/** Where the descriptor limit is unknown, MAX_CONNECTIONS is bounded only by reason. */
const MOST_CONNECTIONS = 1_000_000;

function readConnectionLimits(read: EnvReader, descriptorLimit: number | undefined): ConnectionLimits {
  // At the descriptor limit every new connection is reset, /healthz's too; the cap closes extras before that.
  const maxConnections = read.integer('MAX_CONNECTIONS', defaultMaxConnections(descriptorLimit), {
    min: 2 * MIN_HTTP_HEADROOM,
    max: descriptorLimit === undefined ? MOST_CONNECTIONS : descriptorLimit - MIN_DESCRIPTOR_RESERVE,
  });
  const defaults = webSocketLimitDefaults(maxConnections);
  // Connections past MAX_CONNECTIONS close on arrival, /healthz's among them: WebSockets must leave HTTP its room.
  const maxWebSockets = read.integer('MAX_WS_CONNECTIONS', defaults.maxWebSockets, {
    min: 1,
    max: maxConnections - MIN_HTTP_HEADROOM,
  });
  const share = (name: string, fallback: number) =>
    read.integer(name, Math.min(fallback, maxWebSockets), { min: 1, max: maxWebSockets });
  return {
    maxConnections,
    maxWebSockets,
    maxWebSocketsPerClient: share('MAX_WS_CONNECTIONS_PER_CLIENT', defaults.maxWebSocketsPerClient),
    maxWebSocketsPerKey: share('MAX_WS_CONNECTIONS_PER_KEY', defaults.maxWebSocketsPerKey),
    maxUninitializedWebSockets: share('MAX_WS_UNINITIALIZED', defaults.maxUninitializedWebSockets),
  };
}

/** `*`, or `scheme://host[:port]` with nothing after it, as a browser sends in `Origin`. */
function parseOrigin(entry: string): string {
  if (entry === '*') return entry;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new Error('expected an origin such as http://localhost:5173');
  }
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && !entry.endsWith('/');
  if (!['http:', 'https:'].includes(url.protocol) || !bare) {
    throw new Error('expected an origin such as http://localhost:5173 (a scheme, a host and a port; no path)');
  }
  return url.origin;
}

/** `*`, a host name, or `.example.com` for it and its subdomains. */
function parseHostPattern(entry: string): string {
  const name = entry.toLowerCase();
  if (name === '*' || /^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(name)) return name;
  throw new Error('expected a host name (ai.example.com), a suffix (.example.com) or *');
}
