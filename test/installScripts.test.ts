// package.json's allowScripts covers every dependency install script the project needs, as the machine's npm sees it:
// under `strict-allow-scripts` an uncovered one fails `npm install`; skipped, better-sqlite3 has no addon to load.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { createScratchDir } from './support/testApp.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const scratch = createScratchDir('aio-install-scripts-');

afterAll(() => scratch.remove());

it('npm finds no dependency install script left unreviewed, even in strict mode', async (context) => {
  // In the project itself: `ls` only reads. (A copy of package.json beside a symlinked node_modules misleads npm: it
  // then lists dozens of packages without install scripts as pending.) HOME is empty, so no user setting counts.
  const before = projectFiles();
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(
      'npm',
      ['install-scripts', 'ls', '--json', '--strict-allow-scripts', '--offline', '--no-audit', '--no-fund'],
      { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch.dir } },
    ));
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    // npm before 11.19 has no install-script policy at all: every install script runs, nothing to check.
    if (/Unknown command/i.test(stderr)) return context.skip('this npm has no `install-scripts` command');
    throw error;
  }
  expect(JSON.parse(stdout)).toEqual({ allowScripts: [] });
  expect(projectFiles()).toEqual(before);
});

function projectFiles(): string[] {
  return ['package.json', 'package-lock.json'].map((file) => readFileSync(path.join(REPO_ROOT, file), 'utf8'));
}
