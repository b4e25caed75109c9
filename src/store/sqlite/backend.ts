import type { OpenStoreOptions, StoreBackend } from '../backend.ts';
import { openSqlite } from './db.ts';
import { SqliteMetadataStore } from './metadata.ts';
import { SqlitePartitionStore } from './partition-store.ts';
import { SqliteQueryEngine } from './query/engine.ts';
import { SqliteSubscriptionStore } from './subscriptions.ts';
import { reclaimFreePages } from './vacuum.ts';

/** How often free pages left by retention are given back to the file system. */
const RECLAIM_EVERY_MS = 10_000;

/**
 * Opens the SQLite backend: one database file holding the log, the partition store and the
 * metadata store, on one connection that the two stores take turns on. Space freed by retention
 * goes back to the file system in small periodic passes (vacuum.ts).
 */
export function openSqliteBackend(path: string, options: OpenStoreOptions = {}): StoreBackend {
  const db = openSqlite(path, { integrityCheck: options.integrityCheck ?? true });
  const partitions = new SqlitePartitionStore(db);
  const serialize = <T>(fn: () => T): Promise<T> => partitions.exclusive(fn);
  // Housekeeping on the one connection, in its turn: a failed pass is simply tried again.
  const reclaimer = setInterval(() => {
    partitions.exclusive(() => reclaimFreePages(db)).catch(() => undefined);
  }, RECLAIM_EVERY_MS);
  reclaimer.unref();
  return {
    capabilities: { dialect: 'sqlite', location: path, sharedByNodes: false, sqlIntrospection: true },
    partitions,
    metadata: new SqliteMetadataStore(db, serialize),
    subscriptions: new SqliteSubscriptionStore(db, serialize),
    // Introspection reads the database through its own read-only connection in a worker thread.
    openQueryEngine: (attempts) => new SqliteQueryEngine(path, undefined, attempts),
    async fixPartitionCount(requested) {
      return partitions.exclusive(() => {
        db.prepare("INSERT INTO meta (name, value) VALUES ('partitions', ?) ON CONFLICT (name) DO NOTHING").run(String(requested));
        const row = db.prepare("SELECT value FROM meta WHERE name = 'partitions'").get() as { value: string };
        return Number(row.value);
      });
    },
    async close() {
      clearInterval(reclaimer);
      await partitions.close();
      db.close();
    },
  };
}
