// The analysis-job operations `analyze-file` needs, typed, over the service client (the API's names, see schema.graphql).
import type { FileItem } from './fileItems.js';
import type { ServiceClient } from './serviceClient.js';

export type JobStatus = 'OPEN' | 'QUEUED' | 'RUNNING' | 'DONE' | 'CANCELLED' | 'FAILED';

export interface JobSnapshot {
  id: string;
  name: string | null;
  tasks: string[];
  status: JobStatus;
  total: number;
  processed: number;
  failed: number;
  itemsPerSecond: number | null;
  etaSeconds: number | null;
  error: { code: string; message: string } | null;
}

export const TERMINAL_STATUSES: readonly JobStatus[] = ['DONE', 'CANCELLED', 'FAILED'];

const JOB = `id name tasks status total processed failed itemsPerSecond etaSeconds error { code message }`;
/** Jobs of one name, newest first; the first page is plenty: one command makes one job per name (see resume). */
const JOBS_NAMED = `query JobsNamed($name: String!) { analysisJobs(first: 20, name: $name) { edges { node { ${JOB} } } } }`;
const JOB_BY_ID = `query Job($id: ID!) { analysisJob(id: $id) { ${JOB} } }`;
const CREATE = `mutation CreateJob($input: CreateAnalysisJobInput!) { createAnalysisJob(input: $input) { ${JOB} } }`;
const ADD = `mutation AddItems($jobId: ID!, $items: [AnalysisItemInput!]!) {
  addAnalysisItems(jobId: $jobId, items: $items) { ${JOB} } }`;
const START = `mutation StartJob($id: ID!) { startAnalysisJob(id: $id) { ${JOB} } }`;

export interface JobOperations {
  /** The caller's jobs of exactly this name, newest first. */
  jobsNamed(name: string): Promise<JobSnapshot[]>;
  job(id: string): Promise<JobSnapshot | null>;
  create(name: string, tasks: readonly string[]): Promise<JobSnapshot>;
  /** Idempotent by externalId: a chunk sent again adds nothing twice. */
  addItems(jobId: string, items: readonly FileItem[]): Promise<JobSnapshot>;
  start(id: string): Promise<JobSnapshot>;
  /** The results file as the service streams it. */
  results(id: string, format: 'csv' | 'jsonl'): Promise<Response>;
}

export function jobOperations(client: ServiceClient): JobOperations {
  return {
    jobsNamed: async (name) =>
      (await client.request<{ analysisJobs: { edges: { node: JobSnapshot }[] } }>(JOBS_NAMED, { name })).analysisJobs.edges.map(
        (edge) => edge.node,
      ),
    job: async (id) => (await client.request<{ analysisJob: JobSnapshot | null }>(JOB_BY_ID, { id })).analysisJob,
    create: async (name, tasks) =>
      (await client.request<{ createAnalysisJob: JobSnapshot }>(CREATE, { input: { name, tasks } })).createAnalysisJob,
    addItems: async (jobId, items) =>
      (await client.request<{ addAnalysisItems: JobSnapshot }>(ADD, { jobId, items })).addAnalysisItems,
    start: async (id) => (await client.request<{ startAnalysisJob: JobSnapshot }>(START, { id })).startAnalysisJob,
    results: (id, format) => client.get(`/jobs/${encodeURIComponent(id)}/results.${format}`),
  };
}
