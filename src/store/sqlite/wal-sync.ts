import { closeSync, fdatasync, openSync } from 'node:fs';
import type { SqliteDb } from './db.ts';

/**
 * Makes commits durable off the event loop. The connection runs with `synchronous = NORMAL`, so
 * COMMIT only writes the WAL; `sync()` then flushes the WAL file with fdatasync on libuv's
 * thread pool, and resolves once everything committed before the call is on disk — the same
 * guarantee as `synchronous = FULL`, without blocking the process while the disk works.
 *
 * Calls that arrive while a flush is running share the next one (group commit at the fsync).
 * An in-memory database has nothing to flush.
 */
export class WalSync {
  readonly #path: string | undefined;
  #fd: number | undefined;
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

  #flush(): Promise<void> {
    this.#fd ??= openSync(this.#path!, 'r');
    const fd = this.#fd;
    return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
