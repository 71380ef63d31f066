// An analysis job's results file, CSV or JSONL: one row per item in `seq` order, read from the store a page at a time.
import { stringify } from 'csv-stringify/sync';
import type { AnalysisItemRow, AnalysisJobRow, Repository, TaskResultRow } from '../db/index.js';
import type { TaskCatalog } from '../engine/index.js';

export type ResultsFormat = 'csv' | 'jsonl';

/**
 * A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it
 * as text instead of running it as a formula (tags, external ids and extracted values come from users' files and
 * texts). Numbers stay as they are; JSONL keeps every value exactly.
 */
const CSV_OPTIONS = { escape_formulas: true } as const;

/** Items read per page: all the file ever holds in memory at once, whatever the job's size. */
export const RESULTS_PAGE_SIZE = 200;

type TaskKind = TaskResultRow['kind'];

export interface JobResultsServiceOptions {
  repository: Repository;
  /** The tasks there are (TASKS_FILE's and the built-ins): their kinds decide each task's columns. */
  taskCatalog?: TaskCatalog;
}

export interface ResultsFile {
  /** The job as it was when the file was opened; a job still running has more results to come. */
  job: AnalysisJobRow;
  /** The file's text, a page of items per chunk; a page is read only when the consumer pulls the next chunk. */
  chunks: AsyncIterable<string>;
}

export interface JobResultsService {
  /** The results file of the job `jobId` of `owner`'s, or null when there is no such job of theirs. */
  open(jobId: string, owner: string | null, format: ResultsFormat): Promise<ResultsFile | null>;
}

export function createJobResultsService(options: JobResultsServiceOptions): JobResultsService {
  const { repository } = options;
  const catalogKinds = new Map(options.taskCatalog?.tasks.map((task) => [task.name, task.kind]));
  return {
    async open(jobId, owner, format) {
      const job = await repository.getAnalysisJob(jobId, owner);
      if (!job) return null;
      const chunks = format === 'csv' ? csvChunks(repository, job, catalogKinds) : jsonlChunks(repository, job);
      return { job, chunks };
    },
  };
}

/** The job's items, page after page, read lazily. */
async function* pagesOf(repository: Repository, jobId: string): AsyncGenerator<AnalysisItemRow[]> {
  for (let afterSeq = 0; ; ) {
    const page = await repository.listAnalysisItems({ jobId, afterSeq, first: RESULTS_PAGE_SIZE });
    if (page.length > 0) yield page;
    if (page.length < RESULTS_PAGE_SIZE) return;
    afterSeq = page.at(-1)!.seq;
  }
}

async function* csvChunks(
  repository: Repository,
  job: AnalysisJobRow,
  catalogKinds: ReadonlyMap<string, TaskKind>,
): AsyncGenerator<string> {
  const tagKeys = await repository.listAnalysisTagKeys(job.id);
  let kinds: TaskKind[] | undefined;
  for await (const page of pagesOf(repository, job.id)) {
    if (!kinds) {
      kinds = taskKindsOf(job.tasks, catalogKinds, page);
      yield stringify([csvHeader(job.tasks, kinds, tagKeys)], CSV_OPTIONS);
    }
    yield stringify(page.map((item) => csvRow(item, job.tasks, kinds!, tagKeys)), CSV_OPTIONS);
  }
  if (!kinds) yield stringify([csvHeader(job.tasks, taskKindsOf(job.tasks, catalogKinds, []), tagKeys)], CSV_OPTIONS);
}

/**
 * Each task's kind: the catalogue's, or — for a task TASKS_FILE no longer has — that of its results on the first page;
 * classify when neither tells.
 */
function taskKindsOf(
  tasks: readonly string[],
  catalogKinds: ReadonlyMap<string, TaskKind>,
  page: readonly AnalysisItemRow[],
): TaskKind[] {
  const stored = (task: string) => page.flatMap((item) => item.taskResults).find((result) => result.task === task);
  return tasks.map((task) => catalogKinds.get(task) ?? stored(task)?.kind ?? 'classify');
}

function csvHeader(tasks: readonly string[], kinds: readonly TaskKind[], tagKeys: readonly string[]): string[] {
  return [
    'external_id',
    ...tagKeys.map((key) => `tag:${key}`),
    'status',
    'error_code',
    'error_message',
    ...tasks.flatMap((task, index) =>
      kinds[index] === 'extract' ? [`${task}.value`] : [`${task}.label`, `${task}.confidence`],
    ),
  ];
}

function csvRow(
  item: AnalysisItemRow,
  tasks: readonly string[],
  kinds: readonly TaskKind[],
  tagKeys: readonly string[],
): (string | number)[] {
  const tags = new Map(item.tags.map((tag) => [tag.key, tag.value]));
  const results = new Map(item.taskResults.map((result) => [result.task, result]));
  return [
    item.externalId ?? '',
    ...tagKeys.map((key) => tags.get(key) ?? ''),
    item.status.toUpperCase(),
    item.error?.code ?? '',
    item.error?.message ?? '',
    ...tasks.flatMap((task, index) => {
      const result = results.get(task);
      if (kinds[index] === 'extract') return [result?.value ?? ''];
      return [result?.label ?? '', result?.confidence ?? ''];
    }),
  ];
}

async function* jsonlChunks(repository: Repository, job: AnalysisJobRow): AsyncGenerator<string> {
  for await (const page of pagesOf(repository, job.id)) {
    yield page.map((item) => `${JSON.stringify(jsonlRecord(item))}\n`).join('');
  }
}

function jsonlRecord(item: AnalysisItemRow): Record<string, unknown> {
  return {
    seq: item.seq,
    externalId: item.externalId,
    tags: Object.fromEntries(item.tags.map((tag) => [tag.key, tag.value])),
    status: item.status.toUpperCase(),
    error: item.error && { code: item.error.code, message: item.error.message },
    results: Object.fromEntries(item.taskResults.map((result) => [result.task, jsonlResult(result)])),
  };
}

function jsonlResult(result: TaskResultRow): Record<string, unknown> {
  if (result.kind === 'extract') return { value: JSON.parse(result.value ?? 'null') };
  return { label: result.label, confidence: result.confidence, scores: JSON.parse(result.scores ?? '{}') };
}
