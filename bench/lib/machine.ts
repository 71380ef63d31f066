// What the figures were measured on: CPU model, cores, SIMD flags, memory, Node and node-llama-cpp versions.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './paths.js';

export interface MachineInfo {
  cpuModel: string;
  /** Cores this process may use (what THREADS defaults to). */
  cores: number;
  /** SIMD and related flags that llama.cpp's CPU kernels use, as /proc/cpuinfo names them. */
  cpuFlags: string[];
  memoryGiB: number;
  os: string;
  node: string;
  nodeLlamaCpp: string;
  /** 1-minute load average when the run started: above ~0.5 on a small machine means others were busy. */
  loadAverageAtStart: number;
}

const RELEVANT_FLAGS = /^(sse4_[12]|avx|avx2|fma|f16c|avx512\w*|amx\w*|avx_vnni)$/;

export function machineInfo(): MachineInfo {
  const cpuinfo = readCpuinfo();
  const flagsLine = cpuinfo.match(/^flags\s*:\s*(.*)$/m)?.[1] ?? '';
  return {
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    cpuFlags: flagsLine.split(/\s+/).filter((flag) => RELEVANT_FLAGS.test(flag)),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nodeLlamaCpp: packageVersion('node-llama-cpp'),
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

function packageVersion(name: string): string {
  try {
    const manifest = readFileSync(path.join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
