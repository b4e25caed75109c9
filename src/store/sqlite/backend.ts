import type { StoreBackend } from '../backend.ts';
import { openSqlite } from './db.ts';
import { SqliteMetadataStore } from './metadata.ts';
import { SqlitePartitionStore } from './partition-store.ts';

/**
 * Opens the SQLite backend: one database file holding the log, the partition store and the
 * metadata store, on one connection that the two stores take turns on.
 */
export function openSqliteBackend(path: string): StoreBackend {
  const db = openSqlite(path);
  const partitions = new SqlitePartitionStore(db);
  const metadata = new SqliteMetadataStore(db, (fn) => partitions.exclusive(fn));
  return {
    capabilities: { dialect: 'sqlite', location: path, sharedByNodes: false },
    partitions,
    metadata,
    async fixPartitionCount(requested) {
      return partitions.exclusive(() => {
        db.prepare("INSERT INTO meta (name, value) VALUES ('partitions', ?) ON CONFLICT (name) DO NOTHING").run(String(requested));
        const row = db.prepare("SELECT value FROM meta WHERE name = 'partitions'").get() as { value: string };
        return Number(row.value);
      });
    },
    async close() {
      await partitions.close();
      db.close();
    },
  };
}
