// Analysis jobs driven through a running service's API, and the "each item once" checks the resume tests make.
import { expect } from 'vitest';
import type { TestDatabase } from './dialects.js';

/** Two classify tasks: quick on the tiny model, and two results per item to count. */
export const JOB_TASKS = ['sentiment', 'intent'];
/** Every this-many-th item is empty: it must fail with its own error, never stop the job. */
const EMPTY_EVERY = 50;
/** Polling a job's state: often enough to catch it mid-run, rarely enough to leave the engine the cores. */
const POLL_MS = 25;

export interface JobSnapshot {
  id: string;
  status: string;
  total: number;
  processed: number;
  failed: number;
}

const JOB_FIELDS = 'id status total processed failed';

export async function graphqlAt(url: string, query: string, variables?: object): Promise<any> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(`${query.split('(')[0]}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Creates a job of `count` items through the API, and starts it. */
export async function startJobThroughApi(url: string, count: number): Promise<string> {
  const created = await graphqlAt(
    url,
    'mutation ($input: CreateAnalysisJobInput!) { createAnalysisJob(input: $input) { id } }',
    { input: { name: 'resume', tasks: JOB_TASKS } },
  );
  const id = created.createAnalysisJob.id as string;
  const items = Array.from({ length: count }, (_, index) => ({
    text: index % EMPTY_EVERY === EMPTY_EVERY - 1 ? '' : `review ${index}: the parcel came ${index % 3 ? 'late' : 'early'}`,
    externalId: `row-${index}`,
    tags: [{ key: 'shard', value: String(index % 4) }],
  }));
  for (let start = 0; start < count; start += 1000) {
    await graphqlAt(
      url,
      'mutation ($id: ID!, $items: [AnalysisItemInput!]!) { addAnalysisItems(jobId: $id, items: $items) { total } }',
      { id, items: items.slice(start, start + 1000) },
    );
  }
  const started = await graphqlAt(url, `mutation ($id: ID!) { startAnalysisJob(id: $id) { ${JOB_FIELDS} } }`, { id });
  expect(started.startAnalysisJob.status).toBe('QUEUED');
  return id;
}

/** Polls the job through the API until `until` accepts it; fails with its last state after `limitMs`. */
export async function waitForJob(
  url: string,
  id: string,
  until: (job: JobSnapshot) => boolean,
  limitMs: number,
): Promise<JobSnapshot> {
  const deadline = Date.now() + limitMs;
  let job: JobSnapshot | undefined;
  while (Date.now() < deadline) {
    job = (await graphqlAt(url, `query ($id: ID!) { analysisJob(id: $id) { ${JOB_FIELDS} } }`, { id })).analysisJob;
    if (job && until(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`the job did not reach the state waited for within ${limitMs} ms: ${JSON.stringify(job)}`);
}

interface StoredItem {
  seq: number;
  status: string;
  errorCode: string | null;
  results: number;
  tasks: number;
}

/** Each item's status and how many results it has in the database. */
export function storedItems(database: Pick<TestDatabase, 'rows'>, jobId: string): Promise<StoredItem[]> {
  return database.rows<StoredItem>(
    `select i.seq, i.status, i.error_code as "errorCode",
       cast((select count(*) from task_results r where r.item_id = i.id) as integer) as results,
       cast((select count(distinct r.task) from task_results r where r.item_id = i.id) as integer) as tasks
     from analysis_items i where i.job_id = ? order by i.seq`,
    jobId,
  );
}

/**
 * The promise after any crash: every item has exactly one result per task, or no result and one error (the empty
 * ones), in the database and through the API; the job's counters agree.
 */
export async function expectEachItemOnce(
  database: Pick<TestDatabase, 'rows'>,
  url: string,
  jobId: string,
  count: number,
): Promise<void> {
  const items = await storedItems(database, jobId);
  expect(items).toHaveLength(count);
  const wrong = items.filter((item) =>
    item.status === 'done'
      ? item.results !== JOB_TASKS.length || item.tasks !== JOB_TASKS.length || item.errorCode !== null
      : item.status !== 'failed' || item.results !== 0 || item.errorCode === null,
  );
  expect(wrong).toEqual([]);
  const failed = items.filter((item) => item.status === 'failed');
  expect(failed.map((item) => item.seq)).toEqual(items.filter((item) => item.seq % EMPTY_EVERY === 0).map((item) => item.seq));
  const [job] = await database.rows<{ status: string; processed: number; failed: number }>(
    'select status, processed, failed from analysis_jobs where id = ?',
    jobId,
  );
  expect(job).toEqual({ status: 'done', processed: count, failed: failed.length });

  let after: string | null = null;
  let seen = 0;
  for (let page = 0; page < 1000; page++) {
    const data = await graphqlAt(
      url,
      `query ($id: ID!, $after: String) { analysisJob(id: $id) { items(first: 50, after: $after) {
        edges { node { status error { code } taskResults { ... on Classification { task } } } }
        pageInfo { hasNextPage endCursor } } } }`,
      { id: jobId, after },
    );
    const connection = data.analysisJob.items;
    type Node = { status: string; error: { code: string } | null; taskResults: { task: string }[] };
    for (const { node } of connection.edges as { node: Node }[]) {
      seen += 1;
      if (node.status === 'DONE') expect(node.taskResults.map((result) => result.task).sort()).toEqual([...JOB_TASKS].sort());
      else expect({ status: node.status, results: node.taskResults.length, error: node.error?.code }).toEqual({
        status: 'FAILED',
        results: 0,
        error: 'BAD_USER_INPUT',
      });
    }
    if (!connection.pageInfo.hasNextPage) break;
    after = connection.pageInfo.endCursor;
  }
  expect(seen).toBe(count);
}
