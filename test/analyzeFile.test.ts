// `all-in-one analyze-file` as a user runs it (the real bin/ launcher in a child process) against a real service on a
// socket and in-process, on the tiny model and real SQLite: refusals, bad rows, resume, the results file.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeFile } from '../src/cli/analyzeFile.js';
import { jobOperations } from '../src/cli/jobOperations.js';
import type { ColumnChoice } from '../src/cli/fileItems.js';
import { InputFileError } from '../src/cli/fileRows.js';
import { formatOf } from '../src/cli/inputFile.js';
import { scanInputFile } from '../src/cli/scanInputFile.js';
import { createServiceClient } from '../src/cli/serviceClient.js';
import { openSqlite } from '../src/db/index.js';
import type { Engine } from '../src/engine/index.js';
import { createScratchDir, createTestService, loadTestEngine, type SqliteTestService } from './support/testApp.js';

const BIN = fileURLToPath(new URL('../bin/all-in-one.cjs', import.meta.url));
const TASKS = ['sentiment', 'intent'];
const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-fedcba9876543210';
const scratch = createScratchDir('aio-analyze-file-');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let engine: Engine;
let service: SqliteTestService;
let url: string;

beforeAll(async () => {
  engine = await loadTestEngine();
  service = createTestService(path.join(scratch.dir, 'service.db'), engine);
  service.jobRunner!.start();
  const address = await service.app.start(0, '127.0.0.1');
  url = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await service?.jobRunner?.stop();
  await service?.app.stop();
  service?.database.close();
  await engine?.dispose();
  scratch.remove();
});

/** A user's environment on the tiny model; nothing is inherited but PATH and HOME. */
function cliEnv(): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    MODEL: inject('tinyModelPath'),
    MODELS_DIR: inject('modelsDir'),
    THREADS: '1',
    CONTEXT_SIZE: '2048',
    DATABASE_PATH: path.join(scratch.dir, 'cli.db'),
  };
}

/** The CLI in a child process, from the scratch folder (it must not depend on the working directory). */
function runCli(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: scratch.dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function writeScratch(name: string, content: string | Buffer): string {
  const file = path.join(scratch.dir, name);
  writeFileSync(file, content);
  return file;
}

const REVIEWS_HEADER = 'id,review,product,store\n';
/** Ten good rows over two products, then the bad ones: a short row, bad UTF-8 in the text, an empty text. */
function reviewsCsv(): Buffer {
  const good = Array.from({ length: 10 }, (_, index) => {
    const product = index % 3 === 0 ? 'tv' : 'phone';
    return `r${index + 1},"Review ${index + 1}: the ${product} is ${index % 2 ? 'great' : 'awful, sadly'}",${product},s${index % 2}\n`;
  }).join('');
  return Buffer.concat([
    Buffer.from(REVIEWS_HEADER + good + 'r11,too short\n'),
    Buffer.from('r12,"bad '),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('",phone,s1\nr13,,tv,s0\n'),
  ]);
}

async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const body = await service.graphql(query, variables);
  expect(body.errors).toBeUndefined();
  return body.data as T;
}

async function jobsNamedLike(fragment: string): Promise<{ id: string; name: string; total: number; status: string }[]> {
  const data = await graphql<{ analysisJobs: { edges: { node: { id: string; name: string; total: number; status: string } }[] } }>(
    '{ analysisJobs(first: 100) { edges { node { id name total status } } } }',
  );
  return data.analysisJobs.edges.map((edge) => edge.node).filter((job) => job.name.includes(fragment));
}

async function resultsOf(jobId: string, format: 'csv' | 'jsonl'): Promise<string> {
  const response = await fetch(`${url}/jobs/${jobId}/results.${format}`);
  expect(response.status).toBe(200);
  return response.text();
}

/** Every item of the job, in order, with its results. */
async function itemsOf(jobId: string): Promise<{ externalId: string; status: string; error: { code: string } | null; taskResults: { task: string }[]; tags: { key: string; value: string }[] }[]> {
  const data = await graphql<{ analysisJob: { items: { edges: { node: any }[] } } }>(
    `query ($id: ID!) { analysisJob(id: $id) { items(first: 20) { edges { node {
      externalId status error { code } tags { key value } taskResults { ... on Classification { task } ... on Extraction { task } } } } } } }`,
    { id: jobId },
  );
  return data.analysisJob.items.edges.map((edge) => edge.node);
}

describe('analyze-file', () => {
  it('refuses, in one line and before anything is sent, a file it cannot read or that lacks a named column', async () => {
    const csv = writeScratch('refused.csv', REVIEWS_HEADER + 'r1,fine,tv,s1\n');
    // The command itself, for what it prints: one line on stderr, nothing on stdout, exit code 1.
    const spawned: [string[], RegExp][] = [
      [[writeScratch('notes.txt', 'id,review\n1,hi\n'), '--text-column', 'review'], /notes\.txt is neither \.csv nor \.jsonl/],
      [[csv, '--text-column', 'body'], /refused\.csv has no column "body": its header has "id", "review", "product", "store"\.$/],
      [[csv, '--text-column', 'review', '--out', 'results.txt'], /--out results\.txt: the results file is written as \.csv or \.jsonl\.$/],
    ];
    for (const [args, line] of spawned) {
      const run = await runCli(['analyze-file', ...args, '--tasks', 'sentiment', '--url', url]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr.trimEnd()).toMatch(/^all-in-one: Error: /);
      expect(run.stderr.trimEnd()).toMatch(line);
    }
    // The other refusals come from the same first pass over the file, called here without a process per case (each
    // CLI process costs seconds of start-up): the command prints an InputFileError's message as the line above.
    const choice = (text: string, extra: Partial<ColumnChoice> = {}): ColumnChoice => ({ text, tags: [], ...extra });
    const inProcess: [string, ColumnChoice, RegExp][] = [
      [csv, choice('review', { tags: ['product', 'city'] }), /refused\.csv has no column "city"/],
      [csv, choice('review', { id: 'key' }), /refused\.csv has no column "key"/],
      [writeScratch('empty.csv', ''), choice('review'), /empty\.csv is empty: a CSV file needs a header row/],
      [writeScratch('quote.csv', 'id,review\n1,"never closed\n2,b\n'), choice('review'), /quote\.csv is not valid CSV at line \d+: Quote Not Closed/],
      [
        writeScratch('binary.jsonl', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0a])),
        choice('review'),
        /binary\.jsonl is not JSONL: its first line is not valid UTF-8/,
      ],
      [writeScratch('array.jsonl', '[1,2]\n'), choice('review'), /array\.jsonl is not JSONL: its first line is not a JSON object/],
    ];
    for (const [file, columns, line] of inProcess) {
      const refusal = await scanInputFile(file, formatOf(file), columns).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal, file).toBeInstanceOf(InputFileError);
      expect((refusal as Error).message).toMatch(line);
      expect((refusal as Error).message.split('\n')).toHaveLength(1);
    }
    // Nothing reached the service: no job was made for any of these files.
    const jobs = await graphql<{ analysisJobs: { edges: unknown[] } }>('{ analysisJobs(first: 100) { edges { node { id } } } }');
    expect(jobs.analysisJobs.edges).toEqual([]);
  });

  it('analyses every row against a running service: bad rows fail under their id, the results file is what is stored', async () => {
    const input = writeScratch('reviews.csv', reviewsCsv());
    const out = path.join(scratch.dir, 'reviews-out.csv');
    const args = ['analyze-file', input, '--tasks', TASKS.join(','), '--text-column', 'review', '--id-column', 'id'];
    const run = await runCli([...args, '--tag-columns', 'product,store', '--out', out, '--url', url]);
    expect(run.code, run.stderr).toBe(0);
    const jobId = /\(job (\w+)\)$/.exec(run.stdout.trim())?.[1];
    expect(run.stdout.trim()).toBe(`${out}: 13 items, 3 failed (job ${jobId})`);
    // The two rows that cannot be read are named on stderr; the empty text is the service's to refuse.
    expect(run.stderr).toContain('2 of 13 rows cannot be analysed as they are');
    expect(run.stderr).toContain('row 11: it has 2 fields where the header has 4');
    expect(run.stderr).toContain('row 12: its "review" is not valid UTF-8');

    const written = readFileSync(out, 'utf8');
    expect(written).toBe(await resultsOf(jobId!, 'csv'));
    const rows = parse(written, { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row['external_id'])).toEqual(Array.from({ length: 13 }, (_, index) => `r${index + 1}`));
    for (const row of rows.slice(0, 10)) {
      expect(row).toMatchObject({ status: 'DONE', error_code: '' });
      expect(row['sentiment.label']).toMatch(/^(positive|negative|neutral)$/);
      expect(row['intent.label']).not.toBe('');
    }
    for (const row of rows.slice(10)) expect(row).toMatchObject({ status: 'FAILED', error_code: 'BAD_USER_INPUT' });
    expect(rows[0]).toMatchObject({ 'tag:product': 'tv', 'tag:store': 's0' });
    // A short row keeps what it has: its id, no tags.
    expect(rows[10]).toMatchObject({ 'tag:product': '', 'tag:store': '' });

    // What is stored: one item per row, one result per task for each that ran.
    const items = await itemsOf(jobId!);
    expect(items).toHaveLength(13);
    for (const item of items.slice(0, 10)) expect(item.taskResults.map((result) => result.task)).toEqual(TASKS);
    for (const item of items.slice(10)) expect(item).toMatchObject({ status: 'FAILED', taskResults: [] });
  });

  it('resumes the same job after an interrupted run: same id, every row once, one result per task', async () => {
    const input = writeScratch('resume.csv', reviewsCsv());
    const choice = { text: 'review', id: 'id', tags: ['product'] };
    const scan = await scanInputFile(input, 'csv', choice);
    const interrupted = new AbortController();
    const options = {
      file: input,
      scan,
      format: 'csv' as const,
      choice,
      tasks: TASKS,
      label: 'resume.csv',
      out: path.join(scratch.dir, 'resume.results.csv'),
      resultsFormat: 'csv' as const,
    };
    // Interrupted once every row is uploaded, before the job is started: it is left OPEN, holding all the items.
    const first = analyzeFile(
      jobOperations(createServiceClient({ url })),
      options,
      { uploaded: (sent, rows) => sent === rows && interrupted.abort() },
      interrupted.signal,
    );
    await expect(first).rejects.toThrow(/aborted/i);
    const [left] = await jobsNamedLike('resume.csv [');
    expect(left).toMatchObject({ status: 'OPEN', total: 13 });

    const args = ['analyze-file', input, '--tasks', TASKS.join(','), '--text-column', 'review', '--id-column', 'id'];
    const run = await runCli([...args, '--tag-columns', 'product', '--url', url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`resuming job ${left!.id} (open, 0 of 13 items done)`);
    expect(run.stdout.trim()).toBe(`${input}.results.csv: 13 items, 3 failed (job ${left!.id}, resumed)`);
    expect(await jobsNamedLike('resume.csv [')).toEqual([{ ...left, status: 'DONE' }]);
    const items = await itemsOf(left!.id);
    expect(new Set(items.map((item) => item.externalId)).size).toBe(13);
    for (const item of items.filter((item) => item.status === 'DONE')) expect(item.taskResults).toHaveLength(2);

    // Once more: the finished job is found again, nothing is added, the same results are written.
    const before = readFileSync(`${input}.results.csv`, 'utf8');
    const again = await runCli([...args, '--tag-columns', 'product', '--url', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`(job ${left!.id}, resumed)`);
    expect(readFileSync(`${input}.results.csv`, 'utf8')).toBe(before);
    // A different option is a different job.
    const other = await runCli([...args, '--url', url]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).not.toContain(left!.id);
  });

  it('runs in-process from the configuration: JSONL in, JSONL results out, a re-run resumes the finished job', async () => {
    const lines = [
      { id: 1, text: 'I love it', shop: 'north' },
      { id: 2, text: 'Where is my parcel?', shop: 'south' },
      { id: 3, text: 'broken on arrival', shop: 'north' },
      { id: 4, shop: 'south' },
    ];
    const input = writeScratch('chats.jsonl', `${lines.map((line) => JSON.stringify(line)).join('\n')}\nnot json\n`);
    const out = path.join(scratch.dir, 'chats.results.jsonl');
    const databasePath = path.join(scratch.dir, 'in-process.db');
    const args = ['analyze-file', input, '--tasks', 'sentiment', '--text-column', 'text', '--id-column', 'id'];
    const run = await runCli([...args, '--tag-columns', 'shop', '--out', out, '--db', databasePath]);
    expect(run.code, run.stderr).toBe(0);
    const jobId = /\(job (\w+)\)$/.exec(run.stdout.trim())?.[1];
    expect(run.stdout.trim()).toBe(`${out}: 5 items, 2 failed (job ${jobId})`);
    const records = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; externalId: string; tags: Record<string, string>; status: string; results: Record<string, { label: string }> });
    expect(records.map(({ seq, externalId, status }) => ({ seq, externalId, status }))).toEqual([
      { seq: 1, externalId: '1', status: 'DONE' },
      { seq: 2, externalId: '2', status: 'DONE' },
      { seq: 3, externalId: '3', status: 'DONE' },
      { seq: 4, externalId: '4', status: 'FAILED' },
      { seq: 5, externalId: 'row:5', status: 'FAILED' },
    ]);
    expect(records[0]!.tags).toEqual({ shop: 'north' });
    expect(records[0]!.results['sentiment']!.label).toMatch(/^(positive|negative|neutral)$/);

    // The database holds exactly that: one item per line, one result per item that ran.
    const database = openSqlite({ path: databasePath, readonly: true });
    try {
      const count = (sql: string) => (database.sqlite.prepare(sql).get(jobId) as { n: number }).n;
      expect(count('select count(*) as n from analysis_items where job_id = ?')).toBe(5);
      expect(count('select count(*) as n from task_results where job_id = ?')).toBe(3);
    } finally {
      database.close();
    }

    const again = await runCli([...args, '--tag-columns', 'shop', '--out', out, '--db', databasePath]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(`${out}: 5 items, 2 failed (job ${jobId}, resumed)`);
  });

  it("with API_KEYS: --api-key makes the job that key's, results file included; without a key, one line", async () => {
    const keyed = createTestService(path.join(scratch.dir, 'keyed.db'), engine, { API_KEYS: `${KEY_A},${KEY_B}` });
    keyed.jobRunner!.start();
    try {
      const { port } = await keyed.app.start(0, '127.0.0.1');
      const keyedUrl = `http://127.0.0.1:${port}`;
      const input = writeScratch('keyed.csv', `${REVIEWS_HEADER}r1,"fine, thanks",tv,s1\nr2,broken,phone,s2\n`);
      const args = ['analyze-file', input, '--tasks', 'sentiment', '--text-column', 'review', '--url', keyedUrl];

      const refused = await runCli(args);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/^all-in-one: Error: .*\(UNAUTHENTICATED\)$/m);

      const run = await runCli([...args, '--api-key', KEY_A]);
      expect(run.code, run.stderr).toBe(0);
      const jobId = /\(job (\w+)\)$/.exec(run.stdout.trim())?.[1];
      const asKey = (key: string) =>
        fetch(`${keyedUrl}/jobs/${jobId}/results.csv`, { headers: { authorization: `Bearer ${key}` } });
      const stored = await asKey(KEY_A);
      expect(stored.status).toBe(200);
      expect(readFileSync(`${input}.results.csv`, 'utf8')).toBe(await stored.text());
      // The job is key A's alone: key B does not find it, so its same command makes a job of its own.
      expect((await asKey(KEY_B)).status).toBe(404);
      const other = await runCli([...args, '--api-key', KEY_B]);
      expect(other.code, other.stderr).toBe(0);
      expect(other.stdout).not.toContain(jobId);
      expect(other.stdout).not.toContain('resumed');
    } finally {
      await keyed.jobRunner?.stop();
      await keyed.app.stop();
      keyed.database.close();
    }
  });

  it('Ctrl-C stops an in-process run mid-job and gives its items back; the next run finishes the same job', async () => {
    const rows = Array.from({ length: 300 }, (_, index) => `t${index},"text number ${index}, said plainly"\n`);
    const input = writeScratch('long.csv', `id,text\n${rows.join('')}`);
    const databasePath = path.join(scratch.dir, 'interrupted.db');
    const args = ['analyze-file', input, '--tasks', 'sentiment', '--text-column', 'text', '--id-column', 'id', '--db', databasePath];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: scratch.dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.resume();
    let ended = false;
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    void exited.then(() => (ended = true));
    /** Waits for a state the child reaches on its own; fails if it exits first. */
    const until = async (reached: () => boolean): Promise<void> => {
      while (!reached()) {
        if (ended) throw new Error(`analyze-file exited early: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    // Once the job runs (its first items stored), Ctrl-C.
    await until(() => stderr.includes('created job'));
    const database = openSqlite({ path: databasePath, readonly: true });
    try {
      const progress = database.sqlite.prepare('select id, status, processed from analysis_jobs');
      let job: { id: string; status: string; processed: number } | undefined;
      await until(() => {
        job = progress.get() as typeof job;
        return job?.status === 'running' && job.processed > 0;
      });
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr.trimEnd().split('\n').at(-1)).toBe('all-in-one: interrupted');
      const after = progress.get() as { id: string; status: string; processed: number };
      expect(after).toMatchObject({ id: job!.id, status: 'running' });
      expect(after.processed).toBeLessThan(300);
      // Nothing is left claimed by the stopped process: the items it held were given back on the way out.
      expect(database.sqlite.prepare('select count(*) as n from analysis_items where lease_owner is not null').get()).toEqual({ n: 0 });

      const run = await runCli(args);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(`${input}.results.csv: 300 items, 0 failed (job ${job!.id}, resumed)`);
      const count = (sql: string) => (database.sqlite.prepare(sql).get(job!.id) as { n: number }).n;
      expect(count('select count(*) as n from analysis_items where job_id = ?')).toBe(300);
      expect(count('select count(distinct item_id) as n from task_results where job_id = ?')).toBe(300);
      expect(count('select count(*) as n from task_results where job_id = ?')).toBe(300);
    } finally {
      database.close();
      child.kill('SIGKILL');
    }
  });
});

