// Watches the SQLite file and its write-ahead log as opened; a removed or replaced log is rebuilt through the open
// connection, so acknowledged writes reach a file that survives a crash.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import type Database from 'better-sqlite3';

interface FileIdentity {
  dev: number;
  ino: number;
}

export interface DatabaseFilesOptions {
  sqlite: Database.Database;
  /** Absolute path of the database file; its log is `${path}-wal`. */
  path: string;
  /** Told once each time the log had to be rebuilt (an operator should find out who deletes it). */
  onWarning?: (message: string) => void;
}

/**
 * After its `-wal` file is unlinked, SQLite keeps appending commits to the unlinked inode, which disappears with the
 * process: a kill -9 would lose every commit since the last checkpoint. `check()` notices that (by comparing the
 * path's inode with the one opened), checkpoints the unlinked log into the database file through the still-open
 * descriptor, and cycles the journal mode (DELETE, then WAL) so that SQLite opens a fresh log at the path.
 */
export class DatabaseFiles {
  readonly #sqlite: Database.Database;
  readonly #path: string;
  readonly #walPath: string;
  readonly #onWarning: ((message: string) => void) | undefined;
  readonly #database: FileIdentity | undefined;
  #wal: FileIdentity | undefined;

  constructor(options: DatabaseFilesOptions) {
    this.#sqlite = options.sqlite;
    this.#path = options.path;
    this.#walPath = `${options.path}-wal`;
    this.#onWarning = options.onWarning;
    this.#database = identityOf(this.#path);
    this.#wal = identityOf(this.#walPath);
  }

  /**
   * Why the files cannot take writes now, or undefined; rebuilds a removed or replaced log first. The reasons name no
   * path: /readyz shows them to anyone.
   */
  check(): string | undefined {
    const database = statOrUndefined(this.#path);
    if (!database) return 'the database file was removed while the service was running';
    if (!this.#database || !sameFile(database, this.#database)) {
      return 'the database file was replaced while the service was running';
    }
    try {
      accessSync(this.#path, constants.W_OK);
    } catch {
      return 'the database file is no longer writable';
    }
    const wal = statOrUndefined(this.#walPath);
    // Not yet known (the log appears with the first write after the journal mode changes): remember what appears.
    if (!this.#wal) {
      if (wal) this.#wal = { dev: wal.dev, ino: wal.ino };
      return undefined;
    }
    if (wal && sameFile(wal, this.#wal)) return undefined;
    return this.#rebuildLog(wal ? 'replaced' : 'removed');
  }

  #rebuildLog(what: 'removed' | 'replaced'): string | undefined {
    try {
      this.#sqlite.pragma('wal_checkpoint(TRUNCATE)');
      // Leaving WAL mode checkpoints again and closes the unlinked log; entering it opens a new one at the path.
      if (this.#sqlite.pragma('journal_mode = DELETE', { simple: true }) !== 'delete') throw new Error('still in WAL');
      if (this.#sqlite.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error('not back in WAL');
      // Creates the new log now (rewriting the header's user_version changes nothing), so its inode can be watched.
      const version = this.#sqlite.pragma('user_version', { simple: true }) as number;
      this.#sqlite.pragma(`user_version = ${version}`);
    } catch {
      return `its write-ahead log was ${what} while the service was running and could not be recreated`;
    }
    this.#wal = identityOf(this.#walPath);
    this.#onWarning?.(
      `The database's write-ahead log was ${what} while the service was running: its commits were checkpointed into ` +
        `the database file and a new log was created.`,
    );
    return undefined;
  }
}

function identityOf(file: string): FileIdentity | undefined {
  const stats = statOrUndefined(file);
  return stats ? { dev: stats.dev, ino: stats.ino } : undefined;
}

function sameFile(stats: Stats, identity: FileIdentity): boolean {
  return stats.dev === identity.dev && stats.ino === identity.ino;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}
