// `serve`: the GraphQL service, exactly as `npm start` runs it, with a few settings as flags.
import { Command } from 'commander';
import type { AppConfig } from '../config.js';
import { addDatabaseOption, addModelOptions, nonNegativeInteger, withFlags, type ModelFlags } from './options.js';

interface ServeFlags extends ModelFlags {
  host: string;
  port: number;
  db: string;
}

export function serveCommand(config: AppConfig): Command {
  const command = new Command('serve')
    .description('Run the GraphQL service (HTTP, SSE and WebSocket on one port, /metrics, health probes)')
    .option('--host <host>', 'interface to listen on (env HOST)', config.http.host)
    .option('--port <port>', 'port; 0 picks a free one (env PORT)', nonNegativeInteger, config.http.port);
  addModelOptions(command, config);
  addDatabaseOption(command, config);
  return command.action(async (flags: ServeFlags) => {
    // Loaded here, not above: the GraphQL stack takes a second to import, which every other command would pay.
    const { runServer } = await import('../server.js');
    const settings = withFlags(config, flags);
    await runServer({ ...settings, http: { ...settings.http, host: flags.host, port: flags.port } });
  });
}
