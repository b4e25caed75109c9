// Runs the storage contracts against SQLite, in memory and in a file, and checks that what a
// file-backed store committed is there after closing and reopening it, even when the process
// that wrote it was killed right after the commit.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite, SqlitePartitionStore, type PartitionStore, type SqliteDb } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/metadata.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';
import { SqliteSubscriptionStore } from '../../src/store/sqlite/subscriptions.ts';
import { NON_UTF8, fullStatus, hex, plain, utf8, type Opened } from './fixtures.ts';
import { leaseContract } from './leases.contract.ts';
import { metadataStoreContract } from './metadata-store.contract.ts';
import { partitionStoreContract } from './partition-store.contract.ts';
import { subscriptionStoreContract } from './subscription-store.contract.ts';
import { DURABLE_PARTITION, writeDurabilityFixture } from './sqlite-durability.ts';

const WRITER = fileURLToPath(new URL('./sqlite-writer.ts', import.meta.url));

/** A fresh database file in its own temp directory, removed on close. */
function tempDbPath(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'endure-contract-'));
  return { path: join(dir, 'endure.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens both stores on one database, as the node does. */
function openStores(path: string): {
  db: SqliteDb;
  store: SqlitePartitionStore;
  metadata: SqliteMetadataStore;
  subscriptions: SqliteSubscriptionStore;
} {
  const db = openSqlite(path);
  const store = new SqlitePartitionStore(db);
  const serialize = <T>(fn: () => T): Promise<T> => store.exclusive(fn);
  return { db, store, metadata: new SqliteMetadataStore(db, serialize), subscriptions: new SqliteSubscriptionStore(db, serialize) };
}

function opener<S>(inFile: boolean, pick: (s: ReturnType<typeof openStores>) => S): () => Promise<Opened<S>> {
  return async () => {
    const file = inFile ? tempDbPath() : undefined;
    const stores = openStores(file?.path ?? ':memory:');
    return {
      store: pick(stores),
      close: async () => {
        await stores.store.close();
        stores.db.close();
        file?.remove();
      },
    };
  };
}

partitionStoreContract('sqlite :memory:', opener(false, (s) => s.store));
partitionStoreContract('sqlite file', opener(true, (s) => s.store));
metadataStoreContract('sqlite :memory:', opener(false, (s) => s.metadata));
metadataStoreContract('sqlite file', opener(true, (s) => s.metadata));
leaseContract('sqlite file', opener(true, (s) => s.store));
subscriptionStoreContract('sqlite file', opener(true, (s) => s.subscriptions));

/** Asserts that everything the durability fixture committed, and nothing it rolled back, is stored. */
async function expectDurabilityFixture(store: PartitionStore, metadata: MetadataStore): Promise<void> {
  const P = DURABLE_PARTITION;
  expect((await store.readLog(P, 0)).map((r) => [r.lsn, hex(r.payload)])).toEqual([[1, hex(NON_UTF8)]]);
  expect(await store.getFsm(P)).toEqual({ appliedLsn: 1, epoch: 2, outboxSeq: 0, inboxSeq: 0 });
  expect(plain(await store.getInvocation('inv_durable'))).toEqual(plain(fullStatus('inv_durable', { partition: P })));
  expect((await store.readJournal('inv_durable')).map((e) => hex(e.body))).toEqual([hex(NON_UTF8)]);
  expect((await store.getAllState('Counter', 'alice')).map(([n, v]) => [hex(n), hex(v)])).toEqual([
    [hex(utf8('count')), hex(utf8('41'))],
  ]);
  const snap = await metadata.load();
  expect(snap.deployments.map((d) => d.id)).toEqual(['dp_durable']);
  expect(snap.services).toEqual([{ name: 'Counter', revision: 1, deploymentId: 'dp_durable', data: { handlers: ['add'] } }]);
}

describe('SQLite file durability', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('reopening a closed database file shows what was committed and nothing that was rolled back', async () => {
    const file = tempDbPath();
    cleanups.push(file.remove);
    const first = openStores(file.path);
    await writeDurabilityFixture(first.store, first.metadata);
    await first.store.close();
    first.db.close();

    const second = openStores(file.path);
    cleanups.push(() => second.db.close());
    await expectDurabilityFixture(second.store, second.metadata);
    // Reopening again (migrations already applied) changes nothing.
    await second.store.close();
    second.db.close();
    cleanups.pop();
    const third = openStores(file.path);
    cleanups.push(() => third.db.close());
    await expectDurabilityFixture(third.store, third.metadata);
  });

  it('what a process committed survives that process being killed (SIGKILL) right after the commit', async () => {
    const file = tempDbPath();
    cleanups.push(file.remove);
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    expect({ stdout, stderr, code, signal }).toEqual({ stdout: 'committed\n', stderr: '', code: null, signal: 'SIGKILL' });

    const reopened = openStores(file.path);
    cleanups.push(() => reopened.db.close());
    await expectDurabilityFixture(reopened.store, reopened.metadata);
  });
});

describe('SQLite: partition and metadata stores sharing one connection', () => {
  it('a metadata commit made while a partition transaction is open survives that transaction rolling back', async () => {
    const { db, store, metadata } = openStores(':memory:');
    try {
      // The registry commits on its own schedule, possibly while an apply is in flight: here it
      // asks while the transaction below is suspended at an await.
      let save: Promise<void> | undefined;
      await expect(
        store.transaction(async (tx) => {
          await tx.setState('S', 'k', utf8('n'), utf8('v'));
          save = metadata.saveDeployment({ id: 'dp_1', url: 'http://127.0.0.1:9080/', createdAt: 1, data: null }, []);
          await new Promise((r) => setImmediate(r));
          throw new Error('apply fails');
        }),
      ).rejects.toThrow('apply fails');
      await save;
      // saveDeployment resolved, so it promised durability: the partition rollback must not undo it.
      expect((await metadata.load()).deployments.map((d) => d.id)).toEqual(['dp_1']);
      expect(await store.getAllState('S', 'k')).toEqual([]);
    } finally {
      await store.close();
      db.close();
    }
  });
});
