// Which llama.cpp binaries passed node-llama-cpp's load test on this machine, kept so a restart skips the test.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LlamaExperimentalOptions } from 'node-llama-cpp';
import { touchCachedState, writeCachedState } from './stateCache.js';

export type BinaryTestVerdicts = NonNullable<LlamaExperimentalOptions['binaryTestVerdicts']>;
type BinaryUnderTest = Parameters<BinaryTestVerdicts['passed']>[0];

/** The folder of verdicts inside the state cache's root (tidied with the states: unused for a month, removed). */
export const BINARY_TESTS_FOLDER = 'binary-tests';

/**
 * node-llama-cpp loads a prebuilt binary in a child process first, on every start on Linux (a third of a second
 * here), so that a binary this machine cannot run (its CPU lacks an instruction, its C library is too old) is
 * skipped instead of crashing the service. A pass is kept here under everything it depended on: the binary files
 * (path, size, modification time), the CPU (model and feature flags), the C library, Node and the platform. Any
 * change among them tests again. A verdict that cannot be read or written costs only the test.
 */
export function createBinaryTestVerdicts(root: string, machine: () => Promise<string> = machineIdentity): BinaryTestVerdicts {
  const dir = path.join(root, BINARY_TESTS_FOLDER);
  let thisMachine: Promise<string> | undefined;
  const fileOf = async (binary: BinaryUnderTest) =>
    path.join(dir, `${await verdictKey(binary, await (thisMachine ??= machine()))}.passed`);
  return {
    async passed(binary) {
      try {
        const file = await fileOf(binary);
        await stat(file);
        await touchCachedState(file);
        return true;
      } catch {
        return false;
      }
    },
    async record(binary) {
      try {
        const file = await fileOf(binary);
        await mkdir(dir, { recursive: true });
        await writeCachedState(file, (partial) => writeFile(partial, ''));
      } catch {
        // Not kept: the next start tests the binary again.
      }
    },
  };
}

async function verdictKey(binary: BinaryUnderTest, machine: string): Promise<string> {
  const files = await Promise.all(
    [binary.bindingPath, binary.extBackendsPath].map(async (file) => {
      if (file === undefined) return null;
      const { size, mtimeMs } = await stat(file);
      return { file, size, mtimeMs };
    }),
  );
  const identity = JSON.stringify({ files, gpu: binary.gpu, machine });
  return createHash('sha256').update(identity).digest('hex').slice(0, 32);
}

/** What a binary's loading depends on besides its own files. */
async function machineIdentity(): Promise<string> {
  const { header } = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return JSON.stringify({
    cpu: await cpuIdentity(),
    libc: header?.glibcVersionRuntime ?? null,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  });
}

/** The first processor's model and feature flags on Linux; its model name elsewhere. */
async function cpuIdentity(): Promise<string> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const first = cpuinfo.split('\n\n')[0] ?? '';
  const fields = first.split('\n').filter((line) => /^(model name|flags|Features|CPU part)\s*:/.test(line));
  return fields.length > 0 ? fields.join('\n') : (os.cpus()[0]?.model ?? 'unknown');
}
