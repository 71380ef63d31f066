// Child-process baseline for start-up and memory: node-llama-cpp alone loads the model, creates the service's
// context and runs a little, with nothing of the service around it. Settings come from the environment.
import { treeMemory } from './processMemory.js';
import { openRawContext } from './rawModel.js';

// The module graph (node-llama-cpp, and the project's modules through tsx) is evaluated before this line runs.
const importedAtMs = performance.now();
const EXERCISE_TOKENS = 32;

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`rawModelProcess needs ${name}.`);
  return value;
};

const raw = await openRawContext({
  modelPath: env('MODEL'),
  threads: Number(env('THREADS')),
  contextSize: Number(env('CONTEXT_SIZE')),
  batchSize: Number(env('BATCH_SIZE')),
  sequences: Number(env('SEQUENCES')),
  useMmap: env('USE_MMAP') === 'true',
  kvCacheType: env('KV_CACHE_TYPE') === 'f16' ? 'f16' : 'q8_0',
});
process.stdout.write(`${JSON.stringify({ event: 'ready', build: raw.build, phases: { importedAtMs, ...raw.timings } })}\n`);
const sequence = raw.context.getSequence();
const prompt = raw.model.tokenize(env('PROMPT'));
let generated = 0;
for await (const _ of sequence.evaluate(prompt, { temperature: 0.7, seed: 1 })) {
  if (++generated >= EXERCISE_TOKENS) break;
}
process.stdout.write(`${JSON.stringify({ event: 'exercised', ...treeMemory(process.pid) })}\n`);
await raw.dispose();
