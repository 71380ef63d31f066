// Analysis jobs in the database layer, on real SQLite files and the run's real PostgreSQL: items added once, claimed
// fairly under leases, outcomes stored exactly once through the results path, and statistics by job and tags.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AnalysisJobRow,
  ClaimedItem,
  ItemOutcome,
  NewAnalysisItem,
  NewTaskResult,
  Repository,
  Tag,
} from '../src/db/index.js';
import { newLeaseOwner } from '../src/db/index.js';
import { createDatabase, testDialects, type TestDatabase } from './support/dialects.js';

let tempDir = '';
beforeAll(() => {
  tempDir = mkdtempSync(path.join(tmpdir(), 'jobs-db-test-'));
});
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const TASKS = ['sentiment', 'keywords'];
const LEASE_MS = 60_000;
const MAX_ITEMS = 100_000;

function sentiment(label: string, confidence = 0.8): NewTaskResult {
  const rest = (1 - confidence) / 2;
  const scores = { positive: rest, negative: rest, neutral: rest, [label]: confidence };
  return { task: 'sentiment', kind: 'classify', locale: 'en', label, confidence, scores, latencyMs: 4 };
}

function keywords(...words: string[]): NewTaskResult {
  return { task: 'keywords', kind: 'extract', locale: 'en', value: words, latencyMs: 6 };
}

function item(externalId: string | null, text = `text of ${externalId}`, tags: Tag[] = []): NewAnalysisItem {
  return { externalId, text, tags };
}

/** Outcomes for claimed items: every task's result, keywords first (the job's order is restored when listed). */
function succeeded(claimed: readonly ClaimedItem[], label = 'positive'): ItemOutcome[] {
  return claimed.map((c) => ({ itemId: c.id, results: [keywords(c.text), sentiment(label)] }));
}

describe.each(testDialects())('analysis jobs on %s', (dialect) => {
  let database: TestDatabase;
  let repo: Repository;
  // Every test claims only its own job's items: other tests' jobs are finished or cancelled before it ends.
  const worker = `${dialect}-worker-a`;
  const other = `${dialect}-worker-b`;

  beforeAll(async () => {
    database = await createDatabase(dialect, tempDir, 'jobs');
    repo = await database.open();
  });
  afterAll(() => database.dispose());

  async function openJob(owner: string | null, items: NewAnalysisItem[] = [], name: string | null = null) {
    const created = await repo.createAnalysisJob({ owner, name, tasks: TASKS, maxActive: Number.MAX_SAFE_INTEGER });
    if (created.outcome !== 'created') throw new Error(`createAnalysisJob: ${created.outcome}`);
    const job = created.job;
    if (items.length > 0) {
      const added = await repo.addAnalysisItems({ jobId: job.id, owner, items, maxItems: MAX_ITEMS });
      expect(added.outcome).toBe('added');
    }
    return job;
  }

  async function startedJob(owner: string | null, items: NewAnalysisItem[]) {
    const job = await openJob(owner, items);
    expect((await repo.startAnalysisJob(job.id, owner))?.job.status).toBe('queued');
    return job;
  }

  /** Runs every remaining item of every job to the end as `worker` (each test leaves nothing claimable behind). */
  async function drain(label = 'neutral'): Promise<void> {
    for (let round = 0; round < 1_000; round += 1) {
      const claimed = await repo.claimAnalysisItems({ worker, limit: 50, leaseMs: LEASE_MS });
      if (claimed.length === 0) return;
      await repo.completeAnalysisItems(worker, succeeded(claimed, label));
    }
    throw new Error('items left after 1,000 rounds');
  }

  async function jobOf(job: AnalysisJobRow): Promise<AnalysisJobRow> {
    return (await repo.getAnalysisJob(job.id, job.owner))!;
  }

  it('adds items once by external id: the same chunk twice, and repeats within one call', async () => {
    const owner = 'idem-key';
    const job = await openJob(owner);
    const chunk = [item('a'), item('b'), item('a', 'a again'), item(null, 'no id'), item('c')];
    const first = await repo.addAnalysisItems({ jobId: job.id, owner, items: chunk, maxItems: 10 });
    expect(first).toMatchObject({ outcome: 'added', added: 4, skipped: 1, job: { total: 4, processed: 0 } });
    // The same chunk sent again after a network failure: only the item without an id is new.
    const again = await repo.addAnalysisItems({ jobId: job.id, owner, items: chunk, maxItems: 10 });
    expect(again).toMatchObject({ outcome: 'added', added: 1, skipped: 4, job: { total: 5 } });
    const items = await repo.listAnalysisItems({ jobId: job.id, first: 100 });
    expect(items.map((i) => [i.seq, i.externalId, i.text, i.status])).toEqual([
      [1, 'a', 'text of a', 'pending'],
      [2, 'b', 'text of b', 'pending'],
      [3, null, 'no id', 'pending'],
      [4, 'c', 'text of c', 'pending'],
      [5, null, 'no id', 'pending'],
    ]);
    await repo.cancelAnalysisJob(job.id, owner);
  });

  it('refuses a call that would pass the job limit, adding nothing of it', async () => {
    const owner = 'limit-key';
    const job = await openJob(owner, [item('1'), item('2')]);
    const refused = await repo.addAnalysisItems({
      jobId: job.id,
      owner,
      items: [item('2'), item('3'), item('4')],
      maxItems: 3,
    });
    expect(refused).toMatchObject({ outcome: 'too-many', wouldHave: 4, job: { total: 2 } });
    expect((await repo.listAnalysisItems({ jobId: job.id, first: 10 })).map((i) => i.externalId)).toEqual(['1', '2']);
    // Repeats do not count against the limit.
    const fits = await repo.addAnalysisItems({ jobId: job.id, owner, items: [item('2'), item('3')], maxItems: 3 });
    expect(fits).toMatchObject({ outcome: 'added', added: 1, skipped: 1, job: { total: 3 } });
    await repo.cancelAnalysisJob(job.id, owner);
  });

  it('adds only to an open job of the same owner', async () => {
    const owner = 'open-key';
    const job = await openJob(owner, [item('x')]);
    const add = (who: string | null) => repo.addAnalysisItems({ jobId: job.id, owner: who, items: [item('y')], maxItems: 10 });
    expect(await add('someone-else')).toEqual({ outcome: 'not-found' });
    expect(await add(null)).toEqual({ outcome: 'not-found' });
    expect(await repo.getAnalysisJob(job.id, 'someone-else')).toBeNull();
    expect(await repo.startAnalysisJob(job.id, 'someone-else')).toBeNull();
    expect(await repo.cancelAnalysisJob(job.id, 'someone-else')).toBeNull();

    expect(await repo.startAnalysisJob(job.id, owner)).toMatchObject({ changed: true, job: { status: 'queued' } });
    expect(await repo.startAnalysisJob(job.id, owner)).toMatchObject({ changed: false, job: { status: 'queued' } });
    expect(await add(owner)).toMatchObject({ outcome: 'not-open', job: { status: 'queued', total: 1 } });
    expect(await repo.cancelAnalysisJob(job.id, owner)).toMatchObject({ changed: true, job: { status: 'cancelled' } });
    expect(await add(owner)).toMatchObject({ outcome: 'not-open', job: { status: 'cancelled' } });
    expect((await repo.listAnalysisItems({ jobId: job.id, first: 10 })).map((i) => i.externalId)).toEqual(['x']);
  });

  it('takes 1,000 items with tags in one call, in order, and lists their tag keys', async () => {
    const owner = 'bulk-key';
    const job = await openJob(owner);
    const items = Array.from({ length: 1_000 }, (_, n) =>
      item(`row-${n}`, `review number ${n}`, [
        { key: 'product', value: `p${n % 7}` },
        { key: 'store', value: `s${n % 3}` },
        ...(n % 2 === 0 ? [{ key: 'date', value: `2026-12-0${1 + (n % 5)}` }] : []),
      ]),
    );
    const added = await repo.addAnalysisItems({ jobId: job.id, owner, items, maxItems: 1_000 });
    expect(added).toMatchObject({ outcome: 'added', added: 1_000, skipped: 0, job: { total: 1_000 } });
    const again = await repo.addAnalysisItems({ jobId: job.id, owner, items, maxItems: 1_000 });
    expect(again).toMatchObject({ outcome: 'added', added: 0, skipped: 1_000, job: { total: 1_000 } });
    const page = await repo.listAnalysisItems({ jobId: job.id, afterSeq: 500, first: 3 });
    expect(page.map((i) => [i.seq, i.externalId, i.tags])).toEqual([
      [501, 'row-500', [{ key: 'product', value: 'p3' }, { key: 'store', value: 's2' }, { key: 'date', value: '2026-12-01' }]],
      [502, 'row-501', [{ key: 'product', value: 'p4' }, { key: 'store', value: 's0' }]],
      [503, 'row-502', [{ key: 'product', value: 'p5' }, { key: 'store', value: 's1' }, { key: 'date', value: '2026-12-03' }]],
    ]);
    expect(await repo.listAnalysisTagKeys(job.id)).toEqual(['date', 'product', 'store']);
    const tagRows = await database.rows<{ n: unknown }>('select count(*) as n from analysis_item_tags where job_id = ?', job.id);
    expect(Number(tagRows[0]!.n)).toBe(2_500);
    await repo.cancelAnalysisJob(job.id, owner);
  });

  it('stores items that cannot run as failed at once, counted; a job of only those is done when started', async () => {
    const owner = 'bad-key';
    const job = await openJob(owner);
    const error = { code: 'INVALID_TEXT', message: 'The text holds U+0000.' };
    const added = await repo.addAnalysisItems({
      jobId: job.id,
      owner,
      items: [{ ...item('bad'), text: 'a\uFFFDb', error }],
      maxItems: 10,
    });
    expect(added).toMatchObject({ outcome: 'added', job: { total: 1, processed: 1, failed: 1 } });
    const [stored] = await repo.listAnalysisItems({ jobId: job.id, first: 10 });
    expect(stored).toMatchObject({ status: 'failed', error, text: 'a\uFFFDb', taskResults: [] });
    const started = await repo.startAnalysisJob(job.id, owner);
    expect(started?.job).toMatchObject({ status: 'done', queuedAt: expect.any(Date), finishedAt: expect.any(Date) });
    const empty = await openJob(owner);
    expect((await repo.startAnalysisJob(empty.id, owner))?.job).toMatchObject({ status: 'done', total: 0 });
  });

  it('claims pending items in seq order under a lease; a queued job runs from its first claim', async () => {
    const owner = 'order-key';
    const job = await startedJob(owner, [item('1'), item('2'), item('3'), item('4'), item('5')]);
    expect((await jobOf(job)).startedAt).toBeNull();
    const first = await repo.claimAnalysisItems({ worker, limit: 2, leaseMs: LEASE_MS });
    expect(first.map((c) => [c.seq, c.jobId, c.owner, c.tasks, c.text])).toEqual([
      [1, job.id, owner, TASKS, 'text of 1'],
      [2, job.id, owner, TASKS, 'text of 2'],
    ]);
    expect(await jobOf(job)).toMatchObject({ status: 'running', startedAt: expect.any(Date) });
    // Held items are not claimed again, by this worker or another.
    expect((await repo.claimAnalysisItems({ worker: other, limit: 10, leaseMs: LEASE_MS })).map((c) => c.seq)).toEqual([3, 4, 5]);
    expect(await repo.claimAnalysisItems({ worker, limit: 10, leaseMs: LEASE_MS })).toEqual([]);
    // Only the holder gives items back; then they are claimable at once.
    await repo.releaseAnalysisItems(other, first.map((c) => c.id));
    expect(await repo.claimAnalysisItems({ worker, limit: 10, leaseMs: LEASE_MS })).toEqual([]);
    const heldByOther = (await database.rows<{ id: string }>(
      `select id from analysis_items where job_id = ? and lease_owner = ? order by seq`, job.id, other,
    )).map((row) => row.id);
    await repo.releaseAnalysisItems(other, heldByOther);
    expect((await repo.claimAnalysisItems({ worker, limit: 10, leaseMs: LEASE_MS })).map((c) => c.seq)).toEqual([3, 4, 5]);
    await repo.cancelAnalysisJob(job.id, owner);
  });

  it('takes turns across owners first, then across one owner’s jobs', async () => {
    const items = (prefix: string) => Array.from({ length: 4 }, (_, n) => item(`${prefix}${n}`));
    const a1 = await startedJob('fair-a', items('a1-'));
    const a2 = await startedJob('fair-a', items('a2-'));
    const b1 = await startedJob('fair-b', items('b1-'));
    const turns: string[] = [];
    for (let round = 0; round < 6; round += 1) {
      const claimed = await repo.claimAnalysisItems({ worker, limit: 1, leaseMs: LEASE_MS });
      const id = claimed[0]!.jobId;
      turns.push(id === a1.id ? 'a1' : id === a2.id ? 'a2' : id === b1.id ? 'b1' : id);
    }
    // A never-claimed owner goes first (a's jobs are older, so a first); then the owners alternate, and a's two jobs
    // alternate within a's turns.
    expect(turns).toEqual(['a1', 'b1', 'a2', 'b1', 'a1', 'b1']);
    for (const job of [a1, a2, b1]) await repo.cancelAnalysisJob(job.id, job.owner);
  });

  it('lets another worker take items whose lease ran out, and drops the first worker’s late outcomes', async () => {
    const owner = 'lease-key';
    const job = await startedJob(owner, [item('1'), item('2')]);
    // A lease of 0 ms has run out by the next claim: the first worker "died".
    const lost = await repo.claimAnalysisItems({ worker, limit: 2, leaseMs: 0 });
    expect(lost.map((c) => c.seq)).toEqual([1, 2]);
    const taken = await repo.claimAnalysisItems({ worker: other, limit: 1, leaseMs: LEASE_MS });
    expect(taken.map((c) => c.seq)).toEqual([1]);
    // The first worker learns it lost item 1 (not item 2, which nobody took).
    expect(await repo.renewAnalysisLeases(worker, lost.map((c) => c.id), LEASE_MS)).toEqual([taken[0]!.id]);
    expect(await repo.completeAnalysisItems(worker, succeeded(lost, 'negative'))).toEqual([lost[1]!.id]);
    expect(await repo.completeAnalysisItems(other, succeeded(taken, 'positive'))).toEqual([taken[0]!.id]);
    const listed = await repo.listAnalysisItems({ jobId: job.id, first: 10 });
    expect(listed.map((i) => [i.seq, i.status, i.taskResults.map((r) => r.label ?? r.value)])).toEqual([
      [1, 'done', ['positive', JSON.stringify(['text of 1'])]],
      [2, 'done', ['negative', JSON.stringify(['text of 2'])]],
    ]);
    expect(await jobOf(job)).toMatchObject({ status: 'done', processed: 2, failed: 0 });
  });

  it('stores exactly one result per item and task, even when completion comes twice', async () => {
    const owner = 'once-key';
    const job = await startedJob(owner, [item('1'), item('2'), item('3')]);
    const claimed = await repo.claimAnalysisItems({ worker, limit: 3, leaseMs: LEASE_MS });
    const outcomes = succeeded(claimed);
    expect(await repo.completeAnalysisItems(worker, [...outcomes.slice(0, 2), outcomes[0]!])).toEqual(
      claimed.slice(0, 2).map((c) => c.id),
    );
    expect(await repo.completeAnalysisItems(worker, outcomes)).toEqual([claimed[2]!.id]);
    expect(await repo.completeAnalysisItems(worker, outcomes)).toEqual([]);
    const rows = await database.rows<{ item_id: string; task: string; n: unknown }>(
      'select item_id, task, count(*) as n from task_results where job_id = ? group by item_id, task',
      job.id,
    );
    expect(rows.map((row) => Number(row.n))).toEqual(Array(6).fill(1));
    expect(await jobOf(job)).toMatchObject({ status: 'done', total: 3, processed: 3, failed: 0 });
    // The database itself refuses a second result of an item for a task.
    const [first] = await database.rows<{ id: string }>('select id from task_results where job_id = ? limit 1', job.id);
    await expect(
      database.rows(
        `insert into task_results (id, task, kind, source, owner, job_id, item_id, locale, label, confidence, scores,
           latency_ms, created_at)
         select ?, task, kind, source, owner, job_id, item_id, locale, label, confidence, scores, latency_ms, created_at
         from task_results where id = ? returning id`,
        '01J0000000000000000000DUP1',
        first!.id,
      ),
    ).rejects.toThrow(/unique/i);
  });

  it('stores results through the results path: source job, the job’s owner, no text, counted in the roll-ups', async () => {
    const owner = 'path-key';
    const job = await startedJob(owner, [item('1'), item('2')]);
    const claimed = await repo.claimAnalysisItems({ worker, limit: 2, leaseMs: LEASE_MS });
    const error = { code: 'BAD_USER_INPUT', message: 'Text is empty.' };
    await repo.completeAnalysisItems(worker, [
      { itemId: claimed[0]!.id, results: [sentiment('negative', 0.7), keywords('x')] },
      { itemId: claimed[1]!.id, error },
    ]);
    const [done, failed] = await repo.listAnalysisItems({ jobId: job.id, first: 10 });
    expect(done!.taskResults.map((r) => [r.task, r.source, r.owner, r.jobId, r.itemId, r.text, r.conversationId])).toEqual([
      ['sentiment', 'job', owner, job.id, done!.id, null, null],
      ['keywords', 'job', owner, job.id, done!.id, null, null],
    ]);
    expect(failed).toMatchObject({ status: 'failed', error, taskResults: [], finishedAt: expect.any(Date) });
    expect(await jobOf(job)).toMatchObject({ status: 'done', processed: 2, failed: 1, finishedAt: expect.any(Date) });
    const hourly = await database.rows<{ count: unknown }>(
      `select count from task_hourly_counts where owner_key = ? and task = 'sentiment' and source = 'job'`,
      owner,
    );
    expect(hourly.map((row) => Number(row.count))).toEqual([1]);
    expect(await repo.taskStats({ task: 'sentiment', owner, bucket: 'day', source: 'job' })).toMatchObject({
      total: 1,
      labels: [{ label: 'negative', count: 1 }],
    });
  });

  it('drops outcomes of a cancelled job and claims nothing more of it', async () => {
    const owner = 'cancel-key';
    const job = await startedJob(owner, [item('1'), item('2'), item('3')]);
    const claimed = await repo.claimAnalysisItems({ worker, limit: 2, leaseMs: LEASE_MS });
    expect(await repo.cancelAnalysisJob(job.id, owner)).toMatchObject({
      changed: true,
      job: { status: 'cancelled', finishedAt: expect.any(Date) },
    });
    expect(await repo.renewAnalysisLeases(worker, claimed.map((c) => c.id), LEASE_MS)).toEqual(claimed.map((c) => c.id));
    expect(await repo.completeAnalysisItems(worker, succeeded(claimed))).toEqual([]);
    expect(await repo.claimAnalysisItems({ worker, limit: 10, leaseMs: LEASE_MS })).toEqual([]);
    expect(await database.rows('select id from task_results where job_id = ?', job.id)).toEqual([]);
    expect(await jobOf(job)).toMatchObject({ status: 'cancelled', processed: 0 });
    expect(await repo.cancelAnalysisJob(job.id, owner)).toMatchObject({ changed: false });
  });

  it('fails a queued or running job with its reason, and leaves a finished one alone', async () => {
    const owner = 'fail-key';
    const job = await startedJob(owner, [item('1')]);
    const error = { code: 'UNKNOWN_TASK', message: 'The task keywords no longer exists.' };
    await repo.failAnalysisJob(job.id, error);
    expect(await jobOf(job)).toMatchObject({ status: 'failed', error, finishedAt: expect.any(Date) });
    expect(await repo.claimAnalysisItems({ worker, limit: 10, leaseMs: LEASE_MS })).toEqual([]);
    const open = await openJob(owner, [item('1')]);
    await repo.failAnalysisJob(open.id, error);
    expect(await jobOf(open)).toMatchObject({ status: 'open', error: null });
    await repo.cancelAnalysisJob(open.id, owner);
  });

  it('lists jobs newest first, by exact name, and counts the active ones per owner', async () => {
    const owner = 'list-key';
    const names = ['reviews.csv', 'other', 'reviews.csv', null];
    const jobs: AnalysisJobRow[] = [];
    for (const name of names) jobs.push(await openJob(owner, [], name));
    const page = await repo.listAnalysisJobs({ owner, first: 3 });
    expect(page.items.map((j) => j.id)).toEqual([jobs[3]!.id, jobs[2]!.id, jobs[1]!.id]);
    expect(page.hasNextPage).toBe(true);
    const rest = await repo.listAnalysisJobs({ owner, first: 3, after: page.endCursor });
    expect(rest).toEqual({ items: [jobs[0]], hasNextPage: false, endCursor: jobs[0]!.id });
    const named = await repo.listAnalysisJobs({ owner, name: 'reviews.csv' });
    expect(named.items.map((j) => j.id)).toEqual([jobs[2]!.id, jobs[0]!.id]);
    expect((await repo.listAnalysisJobs({ owner: 'nobody', name: 'reviews.csv' })).items).toEqual([]);
    expect(await repo.countActiveAnalysisJobs(owner)).toBe(4);
    await repo.cancelAnalysisJob(jobs[0]!.id, owner);
    await repo.startAnalysisJob(jobs[1]!.id, owner);
    expect(await repo.countActiveAnalysisJobs(owner)).toBe(2);
    expect(await repo.countActiveAnalysisJobs(null)).toBe(0);
    for (const job of jobs) await repo.cancelAnalysisJob(job.id, owner);
  });

  it("creates no more of one owner's jobs than maxActive, however many calls come at once", async () => {
    const owner = 'limit-key';
    const create = (who: string) => repo.createAnalysisJob({ owner: who, name: null, tasks: TASKS, maxActive: 3 });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => create(owner)));
    const created = outcomes.flatMap((outcome) => (outcome.outcome === 'created' ? [outcome.job] : []));
    expect(created).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome.outcome === 'too-many')).toEqual(
      Array.from({ length: 5 }, () => ({ outcome: 'too-many', active: 3 })),
    );
    expect(await repo.countActiveAnalysisJobs(owner)).toBe(3);
    // Another owner has a limit of their own; an ended job no longer counts.
    expect((await create('limit-other')).outcome).toBe('created');
    await repo.cancelAnalysisJob(created[0]!.id, owner);
    const again = await create(owner);
    expect(again.outcome).toBe('created');
    for (const job of [...created, ...(again.outcome === 'created' ? [again.job] : [])]) {
      await repo.cancelAnalysisJob(job.id, owner);
    }
    for (const job of (await repo.listAnalysisJobs({ owner: 'limit-other' })).items) {
      await repo.cancelAnalysisJob(job.id, 'limit-other');
    }
  });

  it('counts by job, by tags and per tag value as the stored rows say', async () => {
    const owner = 'stats-key';
    let seed = 20;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const labels = ['positive', 'negative', 'neutral'];
    const itemsOf = (prefix: string) =>
      Array.from({ length: 120 }, (_, n) => {
        const tags: Tag[] = [];
        const product = pick(['phone', 'laptop', 'tablet', null]);
        if (product !== null) tags.push({ key: 'product', value: product });
        tags.push({ key: 'store', value: pick(['north', 'south']) });
        return item(`${prefix}${n}`, 'x', tags);
      });
    const jobs = [await startedJob(owner, itemsOf('j1-')), await startedJob(owner, itemsOf('j2-'))];
    // Another owner's job with the same tags counts for nobody else.
    await startedJob('stats-other', itemsOf('o-'));
    for (let round = 0; round < 100; round += 1) {
      const claimed = await repo.claimAnalysisItems({ worker, limit: 17, leaseMs: LEASE_MS });
      if (claimed.length === 0) break;
      await repo.completeAnalysisItems(
        worker,
        claimed.map((c) =>
          random() < 0.1
            ? { itemId: c.id, error: { code: 'BAD_USER_INPUT', message: 'no' } }
            : { itemId: c.id, results: [sentiment(pick(labels), 0.5 + random() / 2), keywords()] },
        ),
      );
    }
    // What is stored, read back row by row: each sentiment result with its item's tags.
    const stored = await database.rows<{ job_id: string; label: string; confidence: number; tags: string }>(
      `select r.job_id, r.label, r.confidence, i.tags from task_results r join analysis_items i on i.id = r.item_id
       where r.owner = ? and r.task = 'sentiment'`,
      owner,
    );
    const rows = stored.map((row) => ({
      jobId: row.job_id,
      label: row.label,
      confidence: Number(row.confidence),
      tags: Object.fromEntries((JSON.parse(row.tags) as Tag[]).map((t) => [t.key, t.value])) as Record<string, string>,
    }));
    expect(rows.length).toBeGreaterThan(150);
    const counted = (chosen: typeof rows) => {
      const perLabel = labels
        .map((label) => ({ label, count: chosen.filter((row) => row.label === label).length }))
        .filter((entry) => entry.count > 0)
        .sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : 1));
      const sum = chosen.reduce((total, row) => total + row.confidence, 0);
      return { total: chosen.length, averageConfidence: chosen.length === 0 ? 0 : sum / chosen.length, labels: perLabel };
    };
    const cases: { jobId?: string; tags?: Tag[]; groupByTag?: string }[] = [
      { jobId: jobs[0]!.id },
      { jobId: jobs[1]!.id, tags: [{ key: 'product', value: 'phone' }] },
      { tags: [{ key: 'product', value: 'laptop' }, { key: 'store', value: 'south' }] },
      { tags: [{ key: 'product', value: 'none-such' }] },
      { jobId: jobs[0]!.id, groupByTag: 'product' },
      { tags: [{ key: 'store', value: 'north' }], groupByTag: 'product' },
      { groupByTag: 'store' },
    ];
    for (const filter of cases) {
      const chosen = rows.filter(
        (row) =>
          (filter.jobId === undefined || row.jobId === filter.jobId) &&
          (filter.tags ?? []).every((tag) => row.tags[tag.key] === tag.value),
      );
      const stats = await repo.taskStats({ task: 'sentiment', owner, bucket: 'day', ...filter });
      const expected = counted(chosen);
      expect(stats, JSON.stringify(filter)).toMatchObject({
        total: expected.total,
        labels: expected.labels,
        averageConfidence: expect.closeTo(expected.averageConfidence, 9),
      });
      expect(stats.series.reduce((sum, point) => sum + point.total, 0)).toBe(expected.total);
      if (filter.groupByTag === undefined) {
        expect(stats.groups).toBeUndefined();
        continue;
      }
      const values = [...new Set(chosen.map((row) => row.tags[filter.groupByTag!] ?? null))];
      const groups = values
        .map((value) => ({ value, ...counted(chosen.filter((row) => (row.tags[filter.groupByTag!] ?? null) === value)) }))
        .sort((a, b) => b.total - a.total || (a.value === null ? 1 : b.value === null ? -1 : a.value < b.value ? -1 : 1));
      expect(stats.groups, JSON.stringify(filter)).toEqual(
        groups.map((group) => ({ ...group, averageConfidence: expect.closeTo(group.averageConfidence, 9) })),
      );
    }
    // sentimentStats is taskStats('sentiment'): the same filters reach it unchanged.
    expect((await repo.taskStats({ task: 'sentiment', owner: 'stats-other', bucket: 'day', jobId: jobs[0]!.id })).total).toBe(0);
    await drain();
  });

  if (dialect === 'sqlite') {
    it("keeps a live process's leases when the file is opened again, and gives back those of holders that are gone", async () => {
      const owner = 'holders-key';
      const job = await startedJob(owner, ['1', '2', '3', '4'].map((id) => item(id)));
      const ended = spawnSync(process.execPath, ['-e', '']).pid;
      const holders = {
        // Another process on this host, still running (this test's parent), as a service beside `analyze-file`.
        live: `${hostname()}:${process.ppid}:${newLeaseOwner().split(':').at(-1)}`,
        ended: `${hostname()}:${ended}:${newLeaseOwner().split(':').at(-1)}`,
        // This very process id: a restart that got its old id back (as in a container).
        samePid: newLeaseOwner(),
        otherHost: `elsewhere.invalid:${process.ppid}:${newLeaseOwner().split(':').at(-1)}`,
      };
      const claimed = new Map<string, ClaimedItem>();
      for (const holder of Object.values(holders)) {
        const [one] = await repo.claimAnalysisItems({ worker: holder, limit: 1, leaseMs: LEASE_MS });
        claimed.set(holder, one!);
      }
      const reopened = await database.open();
      const resumed = await reopened.claimAnalysisItems({ worker: other, limit: 4, leaseMs: LEASE_MS });
      const gone = [holders.ended, holders.samePid, holders.otherHost].map((holder) => claimed.get(holder)!.id);
      expect(resumed.map((c) => c.id).sort()).toEqual(gone.sort());
      // The live holder still holds its item and stores its outcome.
      const live = claimed.get(holders.live)!;
      expect(await repo.completeAnalysisItems(holders.live, succeeded([live]))).toEqual([live.id]);
      expect(await reopened.completeAnalysisItems(other, succeeded(resumed))).toHaveLength(3);
      expect(await jobOf(job)).toMatchObject({ status: 'done', processed: 4 });
    });

    it('gives back every lease of an earlier release (a bare name says nothing of its process) when the file is opened again', async () => {
      const owner = 'restart-key';
      const job = await startedJob(owner, [item('1'), item('2')]);
      const held = await repo.claimAnalysisItems({ worker, limit: 2, leaseMs: LEASE_MS });
      expect(held).toHaveLength(2);
      const reopened = await database.open();
      const resumed = await reopened.claimAnalysisItems({ worker: other, limit: 2, leaseMs: LEASE_MS });
      expect(resumed.map((c) => c.id)).toEqual(held.map((c) => c.id));
      expect(await repo.completeAnalysisItems(worker, succeeded(held))).toEqual([]);
      expect(await reopened.completeAnalysisItems(other, succeeded(resumed))).toEqual(resumed.map((c) => c.id));
      expect(await jobOf(job)).toMatchObject({ status: 'done', processed: 2 });
    });
  }

  if (dialect === 'postgres') {
    it('never hands one item to two replicas claiming at once', async () => {
      const owner = 'race-key';
      const total = 400;
      const job = await startedJob(owner, Array.from({ length: total }, (_, n) => item(`${n}`)));
      // Two repositories, two pools: the replicas' own connections, claiming concurrently until nothing is left.
      const replicas = [await database.open(), await database.open()];
      const claimedBy = await Promise.all(
        replicas.map(async (replica, index) => {
          const mine: ClaimedItem[] = [];
          for (let round = 0; round < total; round += 1) {
            const batch = await Promise.all(
              [0, 1].map(() => replica.claimAnalysisItems({ worker: `replica-${index}`, limit: 7, leaseMs: LEASE_MS })),
            );
            if (batch.every((claimed) => claimed.length === 0)) break;
            mine.push(...batch.flat());
          }
          return mine;
        }),
      );
      const ids = claimedBy.flat().map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(total);
      expect(claimedBy.every((mine) => mine.length > 0)).toBe(true);
      await Promise.all(
        replicas.map((replica, index) => replica.completeAnalysisItems(`replica-${index}`, succeeded(claimedBy[index]!))),
      );
      expect(await jobOf(job)).toMatchObject({ status: 'done', processed: total });
    });
  }
});
