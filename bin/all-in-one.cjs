#!/usr/bin/env node
// `all-in-one` (also `npx all-in-one`): runs the TypeScript CLI in src/ through tsx, so there is no build step.
// CommonJS, so that libuv's thread pool is sized before anything starts it: one thread unless set, for the same
// reason as `npm start` (src/start.cts explains it).
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '1';

void (async () => {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import('../src/cli.ts');
  await runCli(process.argv);
})();
