// The peer's binaries: llama-server built once from the llama.cpp source node-llama-cpp bundles, cached outside the repo.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KEEP_AMX_TILE_SHAPES } from '../../src/engine/loadModel.js';
import { PROJECT_ROOT } from './paths.js';

/** The source node-llama-cpp ships: a git bundle of the llama.cpp release it was made for. */
const SOURCE_BUNDLE = path.join(PROJECT_ROOT, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
/** Without the two OFF flags the configure step downloads (libcurl, the prebuilt web UI); there is no network here. */
const CMAKE_BASE = ['-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON', '-DLLAMA_CURL=OFF', '-DLLAMA_USE_PREBUILT_UI=OFF'];
/** Written into build/ once a build succeeds: a binary built with other flags (or half built) is not taken as ours. */
const MARKER = 'all-in-one.configure';
const TARGETS = ['llama-server', 'llama-bench'];
/** The build folder inside the clone. */
const BUILD_DIR = 'build';
/** Tools a build needs; a smoke run needs none of them (it never builds). */
const BUILD_TOOLS = ['git', 'cmake', 'g++'];
const LOCK_POLL_MS = 5_000;
/** A build takes ~14 min on 2 cores; another run's build is waited for at most this long. */
const LOCK_WAIT_MS = 60 * 60_000;

export interface PeerBuild {
  /** First 12 hex digits of the bundled commit: the cache key. */
  commit: string;
  /** The clone, with `build/` inside. */
  dir: string;
  /** How this machine compiles it, and why. */
  toolchain: Toolchain;
  server: string;
  bench: string;
  /** Where the last build's output went. */
  log: string;
}

export interface Toolchain {
  /** cmake's configure arguments. */
  configure: string[];
  /** Whether llama.cpp's AMX kernels are built (on a CPU that has AMX). */
  amx: boolean;
  /** For the report: how it is compiled, in a few words. */
  description: string;
}

/**
 * llama.cpp's documented native build; on a CPU with AMX, with dead-store elimination off. GCC 12's
 * `_tile_loadconfig` (amxtileintrin.h) gives `ldtilecfg` an 8-byte memory operand, so GCC drops the stores of the
 * tile shapes that follow the palette byte as dead: every tile is configured empty, and llama-server dies of SIGILL
 * (`#UD` at the first `tileloadd`) at its first prompt decode. (node-llama-cpp's prebuilt `sapphirerapids` variant,
 * made with GCC 11.4, runs the same kernels.) With the flags the stores are kept, and both sides run the same AMX
 * kernels. The flags apply to the whole build; llama-bench's decode (tg64, 2 threads) with them came within 3% of a
 * build with the same AMX kernels without them (whose prompts crash, but not its one-token decodes).
 */
export function peerToolchain(hasAmx = cpuHasAmx()): Toolchain {
  if (!hasAmx) return { configure: CMAKE_BASE, amx: false, description: 'GCC' };
  const flags = KEEP_AMX_TILE_SHAPES;
  return {
    configure: [...CMAKE_BASE, `-DCMAKE_C_FLAGS=${flags}`, `-DCMAKE_CXX_FLAGS=${flags}`],
    amx: true,
    description: `GCC, AMX kernels included (\`${flags}\`: GCC 12 drops their tile shapes otherwise, bench/lib/peerBuild.ts)`,
  };
}

/** Where this checkout's peer lives, built or not: `${XDG_CACHE_HOME:-~/.cache}/all-in-one/peer/<commit>/`. */
export function peerBuild(): PeerBuild {
  const commit = bundleCommit().slice(0, 12);
  const cacheHome = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  const root = path.join(cacheHome, 'all-in-one', 'peer');
  const dir = path.join(root, commit);
  const toolchain = peerToolchain();
  const bin = path.join(dir, BUILD_DIR, 'bin');
  return {
    commit,
    dir,
    toolchain,
    server: path.join(bin, 'llama-server'),
    bench: path.join(bin, 'llama-bench'),
    log: path.join(root, `${commit}.build.log`),
  };
}

/** Whether a complete build with this module's flags is in the cache. */
export function peerBuilt(): boolean {
  try {
    return isBuilt(peerBuild());
  } catch {
    return false;
  }
}

function isBuilt(build: PeerBuild): boolean {
  return existsSync(build.server) && readFileOr(markerOf(build), '') === build.toolchain.configure.join('\n');
}

function markerOf(build: PeerBuild): string {
  return path.join(build.dir, BUILD_DIR, MARKER);
}

/** Why this machine cannot build the peer (no bundle, no git/cmake/g++), or undefined. */
export function peerBuildMissing(): string | undefined {
  if (!existsSync(SOURCE_BUNDLE)) return `llama.cpp's source bundle is not installed (${path.relative(PROJECT_ROOT, SOURCE_BUNDLE)})`;
  const missing = BUILD_TOOLS.filter((tool) => !onPath(tool));
  return missing.length > 0 ? `${missing.join(', ')} not found, needed to build llama-server` : undefined;
}

/**
 * The built peer, building it first when absent or built with other flags (clone, configure, build: ~14 min on 2
 * cores; a reconfigured clone rebuilds what the new flags change). A lock folder beside
 * the clone keeps two runs from building at once: the second waits for the first and uses its result.
 */
export async function ensurePeerBuild(log: (message: string) => void): Promise<PeerBuild> {
  const build = peerBuild();
  if (isBuilt(build)) return build;
  const missing = peerBuildMissing();
  if (missing !== undefined) throw new Error(`Cannot build llama-server: ${missing}.`);
  const lock = `${build.dir}.lock`;
  await takeLock(lock, log);
  try {
    if (isBuilt(build)) return build;
    rmSync(markerOf(build), { force: true });
    mkdirSync(path.dirname(build.dir), { recursive: true });
    writeFileSync(build.log, `llama-server build of ${build.commit}, ${new Date().toISOString()}\n`);
    log(`peer: building llama-server ${build.commit} into ${build.dir} (about 14 min on 2 cores; log ${build.log})`);
    // A complete clone from an interrupted earlier attempt is kept: configure and build resume in it.
    if (!existsSync(path.join(build.dir, 'CMakeLists.txt'))) {
      rmSync(build.dir, { recursive: true, force: true });
      await step(build, 'clone', 'git', ['clone', '--quiet', SOURCE_BUNDLE, build.dir], path.dirname(build.dir));
    }
    const { configure } = build.toolchain;
    await step(build, 'configure', 'cmake', ['-B', BUILD_DIR, ...configure], build.dir);
    const jobs = String(os.availableParallelism());
    await step(build, 'build', 'cmake', ['--build', BUILD_DIR, `-j${jobs}`, '--target', ...TARGETS], build.dir);
    if (!existsSync(build.server)) throw new Error(`The llama.cpp build ended without ${build.server}; see ${build.log}.`);
    writeFileSync(markerOf(build), configure.join('\n'));
    log(`peer: built ${build.server}`);
    return build;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The bundle's head commit, read from its header (`# v2 git bundle`, then `<sha> <ref>` lines): no git needed. */
function bundleCommit(): string {
  const file = openSync(SOURCE_BUNDLE, 'r');
  const head = Buffer.alloc(4096);
  try {
    readSync(file, head, 0, head.length, 0);
  } finally {
    closeSync(file);
  }
  const header = head.toString('latin1').split('\n\n')[0]!;
  const commit = header.match(/^([0-9a-f]{40}) /m)?.[1];
  if (!commit) throw new Error(`No commit in the header of ${SOURCE_BUNDLE}.`);
  return commit;
}

/** Runs one build step, its output appended to the log; a failure says which step and its last line, in one line. */
function step(build: PeerBuild, name: string, command: string, args: string[], cwd: string): Promise<void> {
  appendFileSync(build.log, `$ ${command} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    const keep = (chunk: Buffer): void => {
      appendFileSync(build.log, chunk);
      const lines = chunk.toString('utf8').split('\n').filter((line) => line.trim() !== '');
      last = lines.at(-1) ?? last;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => reject(new Error(`llama.cpp ${name} failed: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`llama.cpp ${name} failed (${signal ?? `exit ${code}`}): ${last.trim()} (log: ${build.log})`));
    });
  });
}

/** mkdir is atomic: whoever creates the folder holds the lock; a holder that died leaves a stale lock, taken over. */
async function takeLock(lock: string, log: (message: string) => void): Promise<void> {
  mkdirSync(path.dirname(lock), { recursive: true });
  const startedAt = performance.now();
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileOr(path.join(lock, 'pid'), ''));
    // A lock without a pid is either being taken right now or left by a crash within that instant.
    const stale = holder > 0 ? !alive(holder) : ageMs(lock) > LOCK_POLL_MS;
    if (stale) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    const who = holder > 0 ? `process ${holder}` : 'another run';
    if (!announced) log(`peer: waiting for ${who}, which is building llama-server`);
    announced = true;
    if (performance.now() - startedAt > LOCK_WAIT_MS) throw new Error(`${who} still builds llama-server; gave up waiting.`);
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function readFileOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, tool)));
}

/** Linux's CPU flags say whether the CPU has AMX tiles (elsewhere: taken as not). */
function cpuHasAmx(): boolean {
  if (process.arch !== 'x64') return false;
  return /^flags\s*:.*\bamx_tile\b/m.test(readFileOr('/proc/cpuinfo', ''));
}
