// Child process of the WAL directory test: opens (creating its directory) the database file
// given as argument, commits one transaction through the partition store, then touches a marker
// path (a syscall the test traces, to know when the commit was reported durable) and closes.
import { accessSync } from 'node:fs';
import { openSqlite, SqlitePartitionStore } from '../../src/store/index.ts';

const [path, marker] = process.argv.slice(2);
if (!path || !marker) throw new Error('usage: sqlite-wal-writer.ts <database file> <marker path>');
const db = openSqlite(path);
const store = new SqlitePartitionStore(db);
await store.transaction(async (tx) => {
  await tx.putFsm(0, { appliedLsn: 1, epoch: 1, outboxSeq: 0, inboxSeq: 0 });
});
try {
  accessSync(marker);
} catch {
  // The marker does not exist: only the syscall matters.
}
await store.close();
db.close();
