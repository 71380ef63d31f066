// Runs bench/lib/rawModelProcess.ts as a child and times it: the baseline for start-up and memory.
import { spawn } from 'node:child_process';
import { ENGINE_DEFAULTS, type KvCacheType } from '../../src/engine/index.js';
import { PROJECT_ROOT } from './paths.js';
import type { TreeMemory } from './processMemory.js';
import type { RawOpenTimings } from './rawModel.js';

export interface RawProcessSettings {
  modelPath: string;
  threads: number;
  contextSize?: number;
  batchSize?: number;
  /** Context sequences (default: the engine's, task sequences plus chat sequences). */
  sequences?: number;
  useMmap?: boolean;
  kvCacheType?: KvCacheType;
  /** Evaluated, then 32 tokens generated, before memory is read. */
  prompt: string;
}

export interface RawProcessRun {
  /** From spawn to the model loaded and the context created. */
  readyMs: number;
  /** Which llama.cpp build it loaded. */
  build: string;
  /** Where the start went, as the child timed it (`importedAtMs`: from its own start to its modules evaluated). */
  phases: RawStartPhases;
  /** Of the child alone (it starts nothing), after its exercise. */
  memory: TreeMemory;
}

export type RawStartPhases = RawOpenTimings & { importedAtMs: number };

const LIMIT_MS = 180_000;

export function runRawProcess(settings: RawProcessSettings): Promise<RawProcessRun> {
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/rawModelProcess.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      MODEL: settings.modelPath,
      THREADS: String(settings.threads),
      CONTEXT_SIZE: String(settings.contextSize ?? ENGINE_DEFAULTS.contextSize),
      BATCH_SIZE: String(settings.batchSize ?? ENGINE_DEFAULTS.batchSize),
      SEQUENCES: String(settings.sequences ?? ENGINE_DEFAULTS.taskSequences + ENGINE_DEFAULTS.warmConversations),
      USE_MMAP: String(settings.useMmap ?? ENGINE_DEFAULTS.useMmap),
      KV_CACHE_TYPE: settings.kvCacheType ?? ENGINE_DEFAULTS.kvCacheType,
      PROMPT: settings.prompt,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let readyMs: number | undefined;
    let build = 'unknown';
    let phases: RawStartPhases | undefined;
    let memory: TreeMemory | undefined;
    let output = '';
    let pending = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4_000)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const message = JSON.parse(line) as { event: string; build?: string; phases?: RawStartPhases } & TreeMemory;
        if (message.event === 'ready') {
          readyMs = performance.now() - startedAt;
          build = message.build ?? build;
          phases = message.phases;
        }
        if (message.event === 'exercised') memory = message;
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && readyMs !== undefined && phases && memory) resolve({ readyMs, build, phases, memory });
      else reject(new Error(`rawModelProcess exited with code ${code}:\n${output}`));
    });
  });
}
