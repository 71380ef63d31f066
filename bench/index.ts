// Every benchmark, in the order `npm run bench` runs them and docs/PERFORMANCE.md lists them.
import { analysisJobs } from './analysisJobs.js';
import { analytics } from './analytics.js';
import { backgroundWork } from './backgroundWork.js';
import { concurrency } from './concurrency.js';
import { fairness } from './fairness.js';
import { gaps } from './gaps.js';
import { floods } from './floods.js';
import type { Benchmark } from './lib/benchmark.js';
import { memory } from './memory.js';
import { multiTurn } from './multiTurn.js';
import { peer } from './peer.js';
import { replicas } from './replicas.js';
import { runtime } from './runtime.js';
import { sentiment } from './sentiment.js';
import { startup } from './startup.js';
import { streaming } from './streaming.js';
import { tasks } from './tasks.js';
import { threadPool } from './threadPool.js';

export const BENCHMARKS: readonly Benchmark[] = [
  streaming,
  sentiment,
  fairness,
  multiTurn,
  memory,
  concurrency,
  analytics,
  startup,
  runtime,
  replicas,
  tasks,
  floods,
  peer,
  threadPool,
  backgroundWork,
  analysisJobs,
  gaps,
];
