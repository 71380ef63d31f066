#!/usr/bin/env node
// `all-in-one` (also `npx all-in-one`): runs the TypeScript CLI in src/ through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli.ts');
await runCli(process.argv);
