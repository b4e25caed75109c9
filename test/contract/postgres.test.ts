// Runs the storage contracts against PostgreSQL: a fresh database for this file, a fresh schema
// for every test (the schema Endure's tables live in is configurable), dropped at the end.
// Then what only a server-side database shows: schemas isolate, migrations run once, and what a
// process committed survives that process being killed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createLogger } from '../../src/common/logger.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import { StoreUnavailableError, openStore, type StoreBackend } from '../../src/store/index.ts';
import { Worker } from '../../src/worker/index.ts';
import { createTestDatabase, type TestDatabase } from '../harness/postgres.ts';
import { NON_UTF8, fullStatus, hex, plain, utf8, type Opened } from './fixtures.ts';
import { leaseContract } from './leases.contract.ts';
import { metadataStoreContract } from './metadata-store.contract.ts';
import { partitionStoreContract } from './partition-store.contract.ts';
import { subscriptionStoreContract } from './subscription-store.contract.ts';
import { DURABLE_PARTITION, writeDurabilityFixture } from './sqlite-durability.ts';

const WRITER = fileURLToPath(new URL('./postgres-writer.ts', import.meta.url));

let database: TestDatabase;
let schemas = 0;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

function open(schema: string): Promise<StoreBackend> {
  return openStore({ kind: 'postgres', url: database.url, schema });
}

function opener<S>(pick: (b: StoreBackend) => S): () => Promise<Opened<S>> {
  return async () => {
    const backend = await open(`contract_${schemas++}`);
    return { store: pick(backend), close: () => backend.close() };
  };
}

partitionStoreContract('postgres', opener((b) => b.partitions));
metadataStoreContract('postgres', opener((b) => b.metadata));
leaseContract('postgres', opener((b) => b.partitions));
subscriptionStoreContract('postgres', opener((b) => b.subscriptions));

/** Asserts that everything the durability fixture committed, and nothing it rolled back, is stored. */
async function expectDurabilityFixture(backend: StoreBackend): Promise<void> {
  const store = backend.partitions;
  const P = DURABLE_PARTITION;
  expect((await store.readLog(P, 0)).map((r) => [r.lsn, hex(r.payload)])).toEqual([[1, hex(NON_UTF8)]]);
  expect(await store.getFsm(P)).toEqual({ appliedLsn: 1, epoch: 2, outboxSeq: 0, inboxSeq: 0 });
  expect(plain(await store.getInvocation('inv_durable'))).toEqual(plain(fullStatus('inv_durable', { partition: P })));
  expect((await store.getAllState('Counter', 'alice')).map(([n, v]) => [hex(n), hex(v)])).toEqual([
    [hex(utf8('count')), hex(utf8('41'))],
  ]);
  const snap = await backend.metadata.load();
  expect(snap.deployments.map((d) => d.id)).toEqual(['dp_durable']);
  expect(snap.services).toEqual([{ name: 'Counter', revision: 1, deploymentId: 'dp_durable', data: { handlers: ['add'] } }]);
}

describe('PostgreSQL store', () => {
  it('two schemas of one database are separate stores', async () => {
    const a = await open('iso_a');
    const b = await open('iso_b');
    try {
      await a.partitions.transaction((tx) => tx.setState('S', 'k', utf8('n'), utf8('in a')));
      await a.metadata.saveDeployment({ id: 'dp_a', url: 'http://127.0.0.1:9080/', createdAt: 1, data: null }, []);
      expect(await b.partitions.getAllState('S', 'k')).toEqual([]);
      expect(await b.metadata.load()).toEqual({ deployments: [], services: [] });
      expect((await a.partitions.getAllState('S', 'k')).map(([, v]) => hex(v))).toEqual([hex(utf8('in a'))]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reopening a schema keeps its data and its partition count, and runs no migration twice', async () => {
    const first = await open('reopen');
    await writeDurabilityFixture(first.partitions, first.metadata);
    expect(await first.fixPartitionCount(8)).toBe(8);
    await first.close();
    // Two nodes starting at once on the same schema: both open it, neither migrates twice.
    const [second, third] = await Promise.all([open('reopen'), open('reopen')]);
    try {
      await expectDurabilityFixture(second);
      await expectDurabilityFixture(third);
      expect(await second.fixPartitionCount(24)).toBe(8);
    } finally {
      await second.close();
      await third.close();
    }
  });

  it('the tables retention and log trimming empty are autovacuumed after 2% of dead rows, not 20%', async () => {
    const backend = await open('autovacuum');
    await backend.close();
    const sql = postgres(database.url, { max: 1, onnotice: () => undefined });
    try {
      const rows = await sql<{ relname: string; reloptions: string[] | null }[]>`
        SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'autovacuum' AND c.relkind = 'r'
          AND c.relname IN ('log', 'journal', 'invocation', 'timer', 'outbox', 'inbox', 'idempotency')`;
      expect(rows).toHaveLength(7);
      for (const r of rows) expect(r.reloptions, r.relname).toContain('autovacuum_vacuum_scale_factor=0.02');
    } finally {
      await sql.end();
    }
  });

  it('a transaction that failed leaves no transaction open on its connection for the next one', async () => {
    // One connection in the pool: the next transaction gets the very connection that failed.
    const url = new URL(database.url);
    url.searchParams.set('max', '1');
    const backend = await openStore({ kind: 'postgres', url: url.toString(), schema: 'one_connection' });
    const store = backend.partitions;
    try {
      await store.transaction((tx) => tx.appendLog(1, 1, utf8('a')));
      // The refused write is only reported when the transaction waits (here: at COMMIT)...
      await expect(store.transaction((tx) => tx.appendLog(1, 1, utf8('b')))).rejects.toThrow(/unique/i);
      // ...or its answer is already in when the function returns, and COMMIT is never sent.
      await expect(
        store.transaction(async (tx) => {
          await tx.appendLog(1, 1, utf8('b'));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }),
      ).rejects.toThrow(/unique/i);
      await store.transaction((tx) => tx.appendLog(1, 2, utf8('c')));
      await expect(
        store.transaction(async () => {
          throw new Error('fails before any statement');
        }),
      ).rejects.toThrow('fails before any statement');
      await store.transaction((tx) => tx.appendLog(1, 3, utf8('d')));
      expect((await store.readLog(1, 0)).map((r) => r.lsn)).toEqual([1, 2, 3]);
    } finally {
      await backend.close();
    }
  });

  it('a leader frozen inside a batch does not block a takeover: the server ends its transaction', async () => {
    const url = new URL(database.url);
    url.searchParams.set('idle_in_transaction_session_timeout', '300');
    const frozen = await openStore({ kind: 'postgres', url: url.toString(), schema: 'frozen' });
    const other = await open('frozen');
    try {
      await frozen.partitions.acquireLease(1, 'a', 0, 1_000);
      let resume!: () => void;
      const thawed = new Promise<void>((resolve) => (resume = resolve));
      let locked!: () => void;
      const lockedNow = new Promise<void>((resolve) => (locked = resolve));
      const batch = frozen.partitions.transaction(async (tx) => {
        expect(await tx.lockEpoch(1)).toBe(1);
        locked();
        // Frozen (SIGSTOP, a long pause) with the lease row locked, past the lease.
        await thawed;
        await tx.appendLog(1, 1, utf8('from the deposed leader'));
        await tx.putFsm(1, { appliedLsn: 1, epoch: 1, outboxSeq: 0, inboxSeq: 0 });
      });
      const outcome = batch.then(
        () => 'committed',
        () => 'refused',
      );
      await lockedNow;
      const started = Date.now();
      expect(await other.partitions.acquireLease(1, 'b', 2_000, 1_000)).toMatchObject({ leader: 'b', epoch: 2 });
      expect(Date.now() - started).toBeLessThan(5_000);
      resume();
      expect(await outcome).toBe('refused');
      expect(await other.partitions.readLog(1, 0)).toEqual([]);
      expect((await other.partitions.getFsm(1)).appliedLsn).toBe(0);
      // The deposed store itself recovers: its next transaction opens a fresh connection.
      expect(await frozen.partitions.transaction((tx) => tx.lockEpoch(1))).toBe(2);
    } finally {
      await frozen.close();
      await other.close();
    }
  });

  it('two nodes opening a new schema at once both find it migrated', async () => {
    const opened = await Promise.all([open('race'), open('race'), open('race')]);
    try {
      for (const backend of opened) expect(await backend.metadata.load()).toEqual({ deployments: [], services: [] });
    } finally {
      await Promise.all(opened.map((b) => b.close()));
    }
  });

  it('a schema name that is not a plain identifier is refused before anything is created', async () => {
    await expect(open('bad"; DROP SCHEMA public; --')).rejects.toThrow(/invalid schema name/);
  });

  it('a store that cannot be opened is named in the error, without its password', async () => {
    const url = new URL(database.url);
    url.password = 'secret-pw';
    url.pathname = `/${database.name}_missing`;
    const failure = openStore({ kind: 'postgres', url: url.toString(), schema: 'endure' });
    await expect(failure).rejects.toThrow(/cannot open the PostgreSQL store at postgres:\/\/postgres:\*\*\*@.*_missing schema endure: .*does not exist/);
    await expect(failure).rejects.not.toThrow(/secret-pw/);
  });

  it('what a process committed survives that process being killed (SIGKILL) right after the commit', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, database.url, 'killed'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    expect({ stdout, stderr, code, signal }).toEqual({ stdout: 'committed\n', stderr: '', code: null, signal: 'SIGKILL' });
    const reopened = await open('killed');
    try {
      await expectDurabilityFixture(reopened);
    } finally {
      await reopened.close();
    }
  });

  it('a transaction whose connection the database drops is refused as StoreUnavailableError, not as a bad command', async () => {
    const backend = await open('refused');
    const admin = postgres(database.url, { max: 1, onnotice: () => undefined });
    try {
      const refused = backend.partitions.transaction(async (tx) => {
        await tx.getFsm(1);
        await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'endure' AND pid <> pg_backend_pid()`;
        await backend.partitions.savepoint(tx, async () => {
          await tx.appendLog(1, 1, utf8('lost'));
          await tx.getFsm(1);
        });
      });
      await expect(refused).rejects.toBeInstanceOf(StoreUnavailableError);
      // Nothing of it was written, and the store takes the next transaction.
      await backend.partitions.transaction((tx) => tx.appendLog(1, 1, utf8('next')));
      expect((await backend.partitions.readLog(1, 0)).map((r) => r.lsn)).toEqual([1]);
    } finally {
      await admin.end();
      await backend.close();
    }
  });

  it("POST /query on one node reads every partition the cluster's nodes wrote, and never writes", async () => {
    const writer = await open('query');
    const other = await open('query');
    const engine = other.openQueryEngine(() => []);
    try {
      expect(other.capabilities.sqlIntrospection).toBe(true);
      await writer.partitions.transaction(async (tx) => {
        await tx.putInvocation(fullStatus('inv_p1', { partition: 1 }));
        await tx.putInvocation(fullStatus('inv_p7', { partition: 7 }));
      });
      const r = await engine.query('SELECT id, target_service_name FROM sys_invocation ORDER BY id');
      expect(r.rows.map((row) => row[0])).toEqual(['inv_p1', 'inv_p7']);
      // Fields read from the status record's bytes: the first invocation sink is the caller.
      const fields = await engine.query(
        "SELECT invoked_by, invoked_by_id, completion_result, journal_size, journal_commands_size, idempotency_key FROM sys_invocation WHERE id = 'inv_p1'",
      );
      expect(fields.rows).toEqual([['service', 'inv_caller', 'success', 9, 5, 'idem-é-✓']]);
      await expect(engine.query("SELECT id FROM sys_invocation; DELETE FROM invocation")).rejects.toMatchObject({ kind: 'invalid' });
      await expect(engine.query('WITH gone AS (DELETE FROM endure_attempt RETURNING 1) SELECT * FROM gone')).rejects.toMatchObject({ kind: 'invalid' });
      expect(await writer.partitions.getInvocation('inv_p1')).toBeDefined();
    } finally {
      await engine.close();
      await other.close();
      await writer.close();
    }
  });

  it('a worker keeps committing after the database drops its connections, with no gap or repeat in the log', async () => {
    const backend = await open('dropped');
    const worker = new Worker(backend.partitions, new Partitioner(4), () => undefined, createLogger('silent'));
    const admin = postgres(database.url, { max: 1, onnotice: () => undefined });
    const P = 1;
    try {
      let ok = 0;
      let failed = 0;
      const submit = () =>
        worker.submit(P, { kind: 'outbox-delivered', upTo: 0 }).then(
          () => void ok++,
          () => void failed++,
        );
      for (let round = 0; round < 20; round++) {
        const wave = Array.from({ length: 50 }, submit);
        if (round % 5 === 2) {
          await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'endure' AND pid <> pg_backend_pid()`;
        }
        await Promise.all(wave);
      }
      // Whatever failed while the connections went down, the worker is usable again once its
      // probe finds the store taking writes (it refuses submits until then).
      await worker.writable();
      const after = await Promise.allSettled(Array.from({ length: 20 }, () => worker.submit(P, { kind: 'outbox-delivered', upTo: 0 })));
      expect(after.map((r) => r.status)).toEqual(Array(20).fill('fulfilled'));
      expect(ok + failed).toBe(1000);
      const lsns = (await backend.partitions.readLog(P, 0)).map((r) => r.lsn);
      // Every acknowledged command is in the log, under consecutive LSNs from 1.
      expect(lsns.length).toBeGreaterThanOrEqual(ok + 20);
      expect(lsns).toEqual(Array.from({ length: lsns.length }, (_, i) => i + 1));
      expect((await backend.partitions.getFsm(P)).appliedLsn).toBe(lsns.length);
    } finally {
      await worker.close();
      await admin.end();
      await backend.close();
    }
  });
});
