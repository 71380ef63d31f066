// The few human-readable lines printed once the service is ready: where it listens, which model, which database.
import type { EngineStatus } from '../engine/index.js';

export interface StartupBannerInput {
  /** Base URL the server listens on, e.g. `http://127.0.0.1:4000`. */
  url: string;
  playground: boolean;
  /** `/metrics` needs an API key. */
  metricsAuth: boolean;
  model: EngineStatus['model'];
  /** The llama.cpp build in use and how many replies decode together. */
  engine: Pick<EngineStatus, 'runtime' | 'threads' | 'threadPoolSize' | 'contextSize' | 'maxParallelReplies'>;
  /** The SQLite file, or PostgreSQL's host:port/database. */
  database: string;
  /** Whether requests need an API key. */
  auth: boolean;
}

const BYTES_PER_MB = 1_000_000;
const MS_PER_SECOND = 1000;

export function formatStartupBanner(input: StartupBannerInput): string {
  const { model } = input;
  const size = `${(model.source.sizeBytes / BYTES_PER_MB).toFixed(1)} MB`;
  const origin =
    model.source.kind === 'file'
      ? `local file ${model.source.path}`
      : `${model.source.spec} → ${model.source.path}${model.source.kind === 'synthetic' ? ' (generated)' : ''}`;
  const rows: [string, string][] = [
    ['GraphQL', `${input.url}/graphql`],
    ['Playground', input.playground ? `${input.url}/graphql (open it in a browser)` : 'off (PLAYGROUND=false)'],
    ['Metrics', `${input.url}/metrics${input.metricsAuth ? ' (API key required)' : ''}`],
    ['Model', `${model.name}, ${size}, loaded in ${(model.loadMs / MS_PER_SECOND).toFixed(1)} s`],
    ['  from', origin],
    [
      'Engine',
      `llama.cpp ${input.engine.runtime === 'native' ? 'native build (npm run build:native)' : 'prebuilt binary'}, ` +
        `${input.engine.threads} thread${input.engine.threads === 1 ? '' : 's'} (decodes on a pool of ${input.engine.threadPoolSize}), ${input.engine.maxParallelReplies} replies at once, ${input.engine.contextSize}-token sequences`,
    ],
    ['Database', input.database],
    ['Auth', input.auth ? 'on (API keys required)' : 'off (anyone who can reach the port may call the API)'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = ['', 'All-in-One is ready', ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`)];
  if (model.synthetic) {
    lines.push(
      '',
      '  !! SYNTHETIC MODEL: random weights. Sentiment labels and replies are MEANINGLESS; use it for demos and tests.',
      '  !! Set MODEL to the real model (the default, or a local .gguf file) for real answers.',
    );
  }
  return `${lines.join('\n')}\n\n`;
}
