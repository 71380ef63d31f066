// `npm start`'s prestart: builds the service (scripts/build.ts, through tsx) unless dist/service/ holds a bundle built
// from the files as they are now. Plain JavaScript, so that an up-to-date start costs Node's own start and a stat of
// each input, not tsx's half second and esbuild's.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildInputsUnchanged } from './buildInputs.mjs';

const bundleDir = fileURLToPath(new URL('../dist/service/', import.meta.url));
if (!(await buildInputsUnchanged(bundleDir))) {
  const build = fileURLToPath(new URL('build.ts', import.meta.url));
  const { status, error } = spawnSync(process.execPath, ['--import', 'tsx', build], { stdio: 'inherit' });
  if (error) throw error;
  process.exitCode = status ?? 1;
}
