import { close, closeSync, fdatasync, fstat, fsync, open, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SqliteDb } from './db.ts';

/**
 * Makes commits durable off the event loop. The connection runs with `synchronous = NORMAL`, so
 * COMMIT only writes the WAL; `sync()` then flushes the WAL file with fdatasync on libuv's
 * thread pool, and resolves once everything committed before the call is on disk — the same
 * guarantee as `synchronous = FULL`, without blocking the process while the disk works.
 *
 * Flushing the file is not enough when the file is new: SQLite creates the `-wal` file when the
 * database is opened (or first written, in a fresh data directory) and deletes it on a clean
 * shutdown. Until the directory entry is durable, a power loss can drop the whole WAL — every
 * commit acknowledged since — along with its name. SQLite's unix VFS happens to sync the
 * directory on its first sync of a new WAL (the header sync of the first frame), but that is a
 * build option (SQLITE_DISABLE_DIRSYNC) and a detail of when it syncs, not a promise: so the
 * first flush of a WAL file fsyncs the directory itself, and a flush that finds the file it
 * holds unlinked (SQLite recreated the WAL) reopens it and syncs the directory again.
 *
 * Calls that arrive while a flush is running share the next one (group commit at the fsync).
 * An in-memory database has nothing to flush.
 */
export class WalSync {
  readonly #path: string | undefined;
  #fd: number | undefined;
  /** True until the directory entry of the WAL file `#fd` holds is known to be durable. */
  #dirtyDir = true;
  #running = false;
  #waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #last: Promise<void> = Promise.resolve();

  constructor(db: SqliteDb) {
    this.#path = db.memory ? undefined : `${db.name}-wal`;
    if (this.#path) db.pragma('synchronous = NORMAL');
  }

  /** Resolves once every commit made before this call is durable. */
  sync(): Promise<void> {
    if (!this.#path) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    if (!this.#running) void this.#drain();
    this.#last = p.catch(() => undefined);
    return p;
  }

  /** Resolves once every sync requested so far has finished (successfully or not). */
  settled(): Promise<void> {
    return this.#last;
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        await this.#flush();
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#running = false;
  }

  async #flush(): Promise<void> {
    const path = this.#path!;
    if (this.#fd === undefined) {
      this.#fd = openSync(path, 'r');
      this.#dirtyDir = true;
    }
    const fd = this.#fd;
    // Both run on the thread pool side by side: the link count costs the flush no extra latency.
    const [, links] = await Promise.all([fdatasyncAsync(fd), linkCount(fd)]);
    if (links === 0) {
      // The file was unlinked and SQLite writes a new one: flush that, and make its name durable.
      closeSync(fd);
      this.#fd = openSync(path, 'r');
      this.#dirtyDir = true;
      await fdatasyncAsync(this.#fd);
    }
    if (this.#dirtyDir) {
      await syncDirectory(dirname(path));
      this.#dirtyDir = false;
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

function linkCount(fd: number): Promise<number> {
  return new Promise((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st.nlink))));
}

/** fsyncs a directory, so that the entries created in it survive a power loss. */
export function syncDirectory(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    open(dir, 'r', (err, fd) => {
      if (err) return reject(err);
      fsync(fd, (syncErr) => close(fd, () => (syncErr ? reject(syncErr) : resolve())));
    }),
  );
}
