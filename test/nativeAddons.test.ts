// A native addon that cannot load (install script skipped, or built for another Node): the real entry point, in a
// copy of the project whose better-sqlite3 is broken, ends with one line naming the command that fixes it.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createScratchDir } from './support/testApp.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADDON = 'better-sqlite3';
const scratch = createScratchDir('aio-addons-');

afterAll(() => scratch.remove());

/** The project's sources beside links to the real packages, except a copy of better-sqlite3 without its build. */
function projectWithBrokenAddon(name: string): { root: string; addonDir: string } {
  const root = path.join(scratch.dir, name);
  mkdirSync(path.join(root, 'node_modules'), { recursive: true });
  for (const entry of ['src', 'migrations', 'package.json', 'tsconfig.json']) {
    cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  }
  const modules = path.join(REPO_ROOT, 'node_modules');
  for (const entry of readdirSync(modules)) {
    if (entry === ADDON || entry.startsWith('.')) continue;
    symlinkSync(path.join(modules, entry), path.join(root, 'node_modules', entry));
  }
  const addonDir = path.join(root, 'node_modules', ADDON);
  for (const entry of ['package.json', 'lib']) {
    cpSync(path.join(modules, ADDON, entry), path.join(addonDir, entry), { recursive: true });
  }
  return { root, addonDir };
}

async function startIn(root: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      DATABASE_PATH: path.join(root, 'data.db'),
      MODEL: 'synthetic:tiny',
      HOST: '127.0.0.1',
      PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  return { code, stderr };
}

function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A shared library that registers itself as a Node addon built for another NODE_MODULE_VERSION, exactly as an addon
 * compiled against another Node's headers does, so Node's own loader refuses it with its own message.
 */
function writeAddonForAnotherNode(file: string): number {
  const otherVersion = Number(process.versions.modules) === 147 ? 115 : 147;
  const source = path.join(path.dirname(file), 'otherNode.c');
  writeFileSync(
    source,
    `#include <stddef.h>
struct node_module { int nm_version; unsigned int nm_flags; void *nm_dso_handle; const char *nm_filename;
  void *nm_register_func; void *nm_context_register_func; const char *nm_modname; void *nm_priv;
  struct node_module *nm_link; };
extern void node_module_register(void *);
static struct node_module module = { ${otherVersion}, 0, NULL, "otherNode.c", NULL, NULL, "other", NULL, NULL };
__attribute__((constructor)) static void registerModule(void) { node_module_register(&module); }
`,
  );
  execFileSync('cc', ['-shared', '-fPIC', '-o', file, source]);
  return otherVersion;
}

function oursOf(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('all-in-one:'));
}

describe.concurrent('a native addon that cannot load', () => {
  it('missing (its install script was skipped): one line with the npm rebuild to run', async () => {
    const { root } = projectWithBrokenAddon('missing');
    const result = await startIn(root);
    expect(result.code).toBe(1);
    expect(oursOf(result.stderr)).toEqual([
      `all-in-one: Error: ${ADDON}'s native addon is missing (its install script did not run); ` +
        `run: npm rebuild ${ADDON}`,
    ]);
    expect(result.stderr).not.toContain('Could not locate the bindings file');
  });

  it.runIf(hasCompiler())('built for another Node: one line, the rebuild on this Node and its headers', async () => {
    const { root, addonDir } = projectWithBrokenAddon('mismatch');
    mkdirSync(path.join(addonDir, 'build', 'Release'), { recursive: true });
    const otherVersion = writeAddonForAnotherNode(path.join(addonDir, 'build', 'Release', 'better_sqlite3.node'));
    const result = await startIn(root);
    expect(result.code).toBe(1);
    const binDir = path.dirname(process.execPath);
    expect(oursOf(result.stderr)).toEqual([
      `all-in-one: Error: ${ADDON}'s native addon was built for another Node.js ` +
        `(NODE_MODULE_VERSION ${otherVersion}, this one is ${process.versions.modules}); rebuild it for this one: ` +
        `PATH=${binDir}:$PATH npm_config_nodedir=${path.dirname(binDir)} npm rebuild ${ADDON}`,
    ]);
    // npm's generic advice (a plain `npm rebuild`) would build against the wrong headers again.
    expect(result.stderr).not.toContain('Please try re-compiling');
  });
});
