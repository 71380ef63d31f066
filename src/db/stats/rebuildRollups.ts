// The hourly and daily roll-ups recomputed from the rows they count, as statements written once for every dialect.
import { sql, type Column, type SQL, type Table } from 'drizzle-orm';
import { ownerKeyOf } from '../owner.js';
import type { TaskStatsTables } from './taskStatsQuery.js';
import type { TimeDialect } from './timeRanges.js';

/**
 * Statements to run in order, in one transaction: each roll-up emptied and refilled by one grouped INSERT. For bulk
 * loads that insert rows directly (the seed script), and as a repair if something wrote rows behind the repository.
 */
export function rebuildRollupStatements(tables: TaskStatsTables, dialect: TimeDialect): SQL[] {
  const t = tables.results;
  // Grouped by position: the same expression written twice would be two parameters to PostgreSQL, not one.
  return [
    sql`delete from ${tables.hourly}`,
    sql`insert into ${tables.hourly} (${columns(tables.hourly, ['ownerKey', 'task', 'source', 'label', 'hourStart', 'count', 'confidenceSum'])})
      select ${ownerKeyOf(t.owner)}, ${t.task}, ${t.source}, ${t.label}, ${dialect.hourOf(t.createdAt)}, count(*),
        sum(${t.confidence})
      from ${t} where ${t.kind} = 'classify' group by 1, 2, 3, 4, 5`,
    sql`delete from ${tables.daily}`,
    sql`insert into ${tables.daily} (${columns(tables.daily, ['ownerKey', 'task', 'source', 'label', 'dayStart', 'count', 'confidenceSum'])})
      select ${ownerKeyOf(t.owner)}, ${t.task}, ${t.source}, ${t.label}, ${dialect.dayOf(t.createdAt)}, count(*),
        sum(${t.confidence})
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
