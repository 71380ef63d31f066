// Resident memory of a process and all its descendants, and who those descendants are, from /proc (Linux only).
import { readdirSync, readFileSync } from 'node:fs';

export interface TreeMemory {
  /** Sum of the processes' current resident set sizes. */
  rssBytes: number;
  /**
   * Sum of each process's peak resident set size (VmHWM). Peaks of different processes need not coincide,
   * so this bounds the tree's true peak from above.
   */
  peakRssBytes: number;
  processes: number;
}

export function treeMemory(rootPid: number): TreeMemory {
  const pids = [rootPid, ...descendantsOf(rootPid)];
  let rssBytes = 0;
  let peakRssBytes = 0;
  let processes = 0;
  for (const pid of pids) {
    const status = readStatus(pid);
    if (!status) continue;
    processes += 1;
    rssBytes += kilobytes(status, 'VmRSS') * 1024;
    peakRssBytes += kilobytes(status, 'VmHWM') * 1024;
  }
  return { rssBytes, peakRssBytes, processes };
}

/** The processes below `rootPid` (children, their children…), as /proc lists them now. */
export function descendantsOf(rootPid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(Number(entry));
    if (stat) parentOf.set(Number(entry), stat.ppid);
  }
  const found: number[] = [];
  const frontier = [rootPid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

/** A process's state letter (R, S, Z…) and parent, from /proc/<pid>/stat; undefined once it has ended. */
export function processStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses; the fields after its closing parenthesis do not.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function readStatus(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

function kilobytes(status: string, field: string): number {
  return Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
}
