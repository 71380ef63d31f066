// Who holds an analysis item's lease: a name that says which process on which host holds it, so opening a SQLite
// file can tell a dead holder's leases (given back at once) from those of a process still working on the file.
import os from 'node:os';
import { ulid } from 'ulid';
import { isProcessRunning } from '../isProcessRunning.js';

const LEASE_OWNER = /^(.+):(\d+):([0-9A-HJKMNP-TV-Z]{26})$/;

/** A new lease owner's name for this process: `<host>:<pid>:<ulid>` (a ulid apart, as each runner is its own). */
export function newLeaseOwner(): string {
  return `${os.hostname()}:${process.pid}:${ulid()}`;
}

/**
 * Whether `owner` names another process that is running on this host. A name of another form (an earlier release's
 * bare ulid), of another host (nothing to ask) or of this very process id (a restart that got the same id, as in a
 * container) says no: its holder is taken to be gone. A dead holder whose id a new process took is taken to be alive,
 * and its leases run out as on PostgreSQL (JOB_LEASE_MS).
 */
export function isOtherLiveProcess(owner: string): boolean {
  const match = LEASE_OWNER.exec(owner);
  if (!match) return false;
  const pid = Number(match[2]);
  return match[1] === os.hostname() && pid !== process.pid && isProcessRunning(pid);
}
