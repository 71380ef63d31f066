// `engine`: what the model and the scheduler are doing right now.
import path from 'node:path';
import type { EngineStatusView } from '../service/health.js';
import { builder } from './builder.js';

const EngineStatus = builder.objectRef<EngineStatusView>('EngineStatus').implement({
  fields: (t) => ({
    modelName: t.string({ resolve: (status) => status.model.name }),
    modelSource: t.string({
      description:
        'MODEL as configured: an hf: URI, synthetic:<shape>, or for a local file its name only (never a server path).',
      resolve: ({ model: { source } }) => (source.kind === 'file' ? path.basename(source.spec) : source.spec),
    }),
    modelFile: t.string({
      description: "The model file's name, without its folder.",
      resolve: (status) => path.basename(status.model.source.path),
    }),
    synthetic: t.boolean({
      description: 'True for random-weight test models: output is meaningless.',
      resolve: (status) => status.model.synthetic,
    }),
    modelLoadMs: t.float({ resolve: (status) => status.model.loadMs }),
    ready: t.exposeBoolean('ready'),
    threads: t.exposeInt('threads'),
    threadPoolSize: t.exposeInt('threadPoolSize', {
      description:
        "Threads in libuv's pool, where every decode runs (UV_THREADPOOL_SIZE; npm start sets 1, so every decode starts on the same thread).",
    }),
    contextSize: t.exposeInt('contextSize'),
    queueDepth: t.exposeInt('queueDepth', { description: 'Jobs waiting for their turn.' }),
    runningJobs: t.exposeStringList('runningJobs', { description: 'Kinds of the jobs in progress.' }),
    runtime: t.exposeString('runtime', {
      description: 'The llama.cpp build in use: "native" (compiled here by npm run build:native) or "prebuilt" (node-llama-cpp\'s).',
    }),
    maxParallelReplies: t.exposeInt('maxParallelReplies', { description: 'Replies generated at once (MAX_PARALLEL_REPLIES).' }),
    warmConversations: t.exposeInt('warmConversations', { description: 'Conversations whose tokens are resident now.' }),
    averageStepsPerCycle: t.exposeFloat('averageStepsPerCycle', {
      description: 'Generated tokens and prompt chunks one batched decode carried, on average since start.',
    }),
    tokensGenerated: t.exposeInt('tokensGenerated'),
    recentTokensPerSecond: t.exposeFloat('recentTokensPerSecond'),
  }),
});

builder.queryField('engine', (t) =>
  t.field({ type: EngineStatus, resolve: (_, __, { services }) => services.health.engineStatus() }),
);
