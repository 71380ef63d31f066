// The hourly roll-ups recomputed from the rows they count, as statements written once for every dialect.
import { sql, type Column, type SQL, type Table } from 'drizzle-orm';
import { ownerKeyOf } from '../owner.js';
import type { SentimentStatsTables } from './sentimentStatsQuery.js';
import type { TaskStatsTables } from './taskStatsQuery.js';
import type { TimeDialect } from './timeRanges.js';

/**
 * Statements to run in order, in one transaction: each roll-up emptied and refilled by one grouped INSERT. For bulk
 * loads that insert rows directly (the seed script), and as a repair if something wrote rows behind the repository.
 */
export function rebuildRollupStatements(
  sentimentTables: SentimentStatsTables,
  taskTables: TaskStatsTables,
  dialect: TimeDialect,
): SQL[] {
  const s = sentimentTables.sentiments;
  const t = taskTables.results;
  const sentimentHour = dialect.hourOf(s.createdAt);
  const taskHour = dialect.hourOf(t.createdAt);
  // Grouped by position: the same expression written twice would be two parameters to PostgreSQL, not one.
  const count = (label: string): SQL => sql`sum(case when ${s.label} = ${label} then 1 else 0 end)`;
  return [
    sql`delete from ${sentimentTables.hourly}`,
    sql`insert into ${sentimentTables.hourly} (${columns(sentimentTables.hourly, ['ownerKey', 'source', 'hourStart', 'positive', 'negative', 'neutral', 'confidenceSum'])})
      select ${ownerKeyOf(s.owner)}, ${s.source}, ${sentimentHour}, ${count('positive')}, ${count('negative')},
        ${count('neutral')}, sum(${s.confidence})
      from ${s} group by 1, 2, 3`,
    sql`delete from ${taskTables.hourly}`,
    sql`insert into ${taskTables.hourly} (${columns(taskTables.hourly, ['ownerKey', 'task', 'source', 'label', 'hourStart', 'count', 'confidenceSum'])})
      select ${ownerKeyOf(t.owner)}, ${t.task}, ${t.source}, ${t.label}, ${taskHour}, count(*), sum(${t.confidence})
      from ${t} where ${t.kind} = 'classify' group by 1, 2, 3, 4, 5`,
  ];
}

// An INSERT's column list takes bare names (a qualified "table"."column" is not allowed there).
function columns<K extends string>(table: Table & Record<K, Column>, keys: readonly K[]): SQL {
  return sql.join(
    keys.map((key) => sql.identifier(table[key].name)),
    sql`, `,
  );
}
