// `stats`: sentiment totals and a per-bucket chart read from the database (read-only; the server may be running).
import { Command, InvalidArgumentError, Option } from 'commander';
import { openOptionsOf, type AppConfig } from '../config.js';
import { openRepository, type ResultSource, type StatsBucket } from '../db/index.js';
import { EngineHolder } from '../service/EngineHolder.js';
import { createAnalyticsService, type StatsFilter } from '../service/analytics.js';
import { formatStats } from './formatStats.js';
import { addDatabaseOption, withFlags } from './options.js';

interface StatsFlags {
  db?: string;
  bucket: StatsBucket;
  source?: ResultSource;
  from?: Date;
  to?: Date;
  owner?: string;
  json?: boolean;
}

const BUCKETS: readonly StatsBucket[] = ['hour', 'day', 'week', 'month'];
const SOURCES: readonly ResultSource[] = ['chat', 'query'];

export function statsCommand(config: AppConfig): Command {
  const command = new Command('stats')
    .description('Print sentiment statistics from the database: totals per label and a chart per time bucket')
    .addOption(new Option('--bucket <bucket>', 'series bucket (UTC)').choices(BUCKETS).default('day'))
    .addOption(new Option('--source <source>', 'only chat messages or only sentiment queries').choices(SOURCES))
    .option('--from <time>', 'inclusive start, an ISO date or date-time', parseTime)
    .option('--to <time>', 'exclusive end, an ISO date or date-time', parseTime)
    .option('--owner <owner>', "an API key's owner fingerprint (default: records made without a key)")
    .option('--json', 'print the statistics as JSON');
  addDatabaseOption(command, config);
  return command.action(async (flags: StatsFlags) => {
    // Read-only: creates and migrates nothing, and never takes the write lock from a running server.
    const database = await openRepository({ ...openOptionsOf(withFlags(config, flags).database), readonly: true });
    try {
      const analytics = createAnalyticsService({ repository: database, engine: new EngineHolder() });
      const filter: StatsFilter = { from: flags.from ?? null, to: flags.to ?? null, source: flags.source ?? null };
      const stats = await analytics.sentimentStats(flags.owner ?? null, filter, flags.bucket);
      if (flags.json) return console.log(JSON.stringify(stats));
      process.stdout.write(formatStats(stats, { bucket: flags.bucket, scope: scopeOf(flags) }));
    } finally {
      await database.close();
    }
  });
}

function parseTime(value: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new InvalidArgumentError('expected an ISO date such as 2026-01-31 or 2026-01-31T12:00:00Z');
  }
  return time;
}

function scopeOf(flags: StatsFlags): string {
  const parts = [
    flags.source ? `source ${flags.source}` : 'all sources',
    flags.from ? `from ${flags.from.toISOString()}` : '',
    flags.to ? `to ${flags.to.toISOString()}` : '',
    flags.owner ? `owner ${flags.owner}` : 'records without an owner',
  ];
  return parts.filter((part) => part !== '').join(', ');
}
