// Child process for the runtime benchmark: node-llama-cpp alone on one llama.cpp build (two builds never share a
// process: both bring their own libggml), measuring the prompt and decode rates. Settings come from the environment.
import { chatPromptTokens, openRawContext, rawGenerate, tokensPerSecond } from './rawModel.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`rawDecodeProcess needs ${name}.`);
  return value;
};

const raw = await openRawContext({
  modelPath: env('MODEL'),
  threads: Number(env('THREADS')),
  runtime: env('RUNTIME') === 'prebuilt' ? 'prebuilt' : 'auto',
  sequences: 1,
});
const sequence = raw.context.getSequence();
const prompt = chatPromptTokens(raw.model, { message: env('PROMPT'), locale: 'en' });
const startedAt = performance.now();
await sequence.evaluateWithoutGeneratingNewTokens(prompt);
const promptRate = (prompt.length * 1000) / (performance.now() - startedAt);
const generation = await rawGenerate(raw.model, sequence, prompt, {
  maxTokens: Number(env('TOKENS')),
  seed: Number(env('SEED')),
});
process.stdout.write(
  `${JSON.stringify({ build: raw.build, prompt: promptRate, decode: tokensPerSecond(generation.tokenAt) })}\n`,
);
await raw.dispose();
