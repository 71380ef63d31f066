// The analysis-job operations the Files view uses: create, upload in chunks, start, follow, count per tag, download.
import { itemOf } from './csvFile.js';

const JOB = 'id name tasks status total processed failed itemsPerSecond etaSeconds error { code message }';
const CREATE = `mutation CreateJob($input: CreateAnalysisJobInput!) { createAnalysisJob(input: $input) { ${JOB} } }`;
const ADD = `mutation AddItems($jobId: ID!, $items: [AnalysisItemInput!]!) {
  addAnalysisItems(jobId: $jobId, items: $items) { ${JOB} } }`;
const START = `mutation StartJob($id: ID!) { startAnalysisJob(id: $id) { ${JOB} } }`;
const PROGRESS = `subscription JobProgress($id: ID!) { analysisJobProgress(id: $id) { ${JOB} } }`;
const GROUPS = `query JobGroups($task: String!, $filter: SentimentStatsFilter, $groupBy: StatsGroupBy) {
  taskStats(task: $task, filter: $filter, groupBy: $groupBy) {
    total labels { label count } groups { value total labels { label count } } } }`;

/** The API's items per call (MAX_JOB_ITEMS_PER_CALL's default). */
const CHUNK_ITEMS = 1000;
/** A chunk's JSON stays well under the API's 1 MiB request bodies (MAX_BODY_BYTES' default). */
const CHUNK_BYTES = 512 * 1024;
const encoder = new TextEncoder();

export const TERMINAL = new Set(['DONE', 'CANCELLED', 'FAILED']);

export async function createJob(api, name, tasks) {
  return (await api.request(CREATE, { input: { name, tasks } })).createAnalysisJob;
}

/**
 * Sends every row of `file` as an item, in chunks; `onChunk(rowsSent, bad)` after each, `bad` counting the rows sent
 * as items that fail. Resolves with the job after the last chunk.
 */
export async function uploadRows(api, job, file, columns, onChunk) {
  let chunk = [];
  let bytes = 0;
  let sent = 0;
  let bad = 0;
  let after = job;
  const flush = async () => {
    after = (await api.request(ADD, { jobId: job.id, items: chunk })).addAnalysisItems;
    sent += chunk.length;
    chunk = [];
    bytes = 0;
    onChunk(sent, bad);
  };
  for (let index = 0; index < file.rows.length; index += 1) {
    const { item, problem } = itemOf(file, index, columns);
    if (problem) bad += 1;
    const size = encoder.encode(JSON.stringify(item)).length;
    if (chunk.length === CHUNK_ITEMS || (chunk.length > 0 && bytes + size > CHUNK_BYTES)) await flush();
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) await flush();
  return after;
}

export async function startJob(api, id) {
  return (await api.request(START, { id })).startAnalysisJob;
}

/** Snapshots of the job as it runs (`next(job)`), until it ends (`complete()`) or fails (`error(ApiError)`). */
export function followJob(api, id, handlers) {
  return api.subscribe(PROGRESS, { id }, {
    next: (data) => handlers.next(data.analysisJobProgress),
    error: handlers.error,
    complete: handlers.complete,
  });
}

/** `task`'s label counts among the job's results, per value of the tag `tag` (or all together without one). */
export async function jobGroups(api, { jobId, task, tag }) {
  const variables = { task, filter: { jobId }, ...(tag ? { groupBy: { tag } } : {}) };
  return (await api.request(GROUPS, variables)).taskStats;
}

/** The results file, fetched with the page's key, as a Blob. */
export async function resultsBlob(api, id) {
  const response = await api.fetchFile(`/jobs/${encodeURIComponent(id)}/results.csv`);
  return response.blob();
}
