import { create, toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { pb } from '../../src/protocol/index.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import { SqlitePartitionStore, StoreUnavailableError, openSqlite, type SqliteDb } from '../../src/store/index.ts';
import { formatInvocationId, newInvocationId } from '../../src/types/index.ts';
import { Worker, type Command, type Leadership, type ResolvedTarget } from '../../src/worker/index.ts';

// The commit loop when the store refuses a commit: SQLite's max_page_count makes a real
// SQLITE_FULL ("database or disk is full") on demand, and raising it is space coming back.

const partitioner = new Partitioner(2);
const greeter: ResolvedTarget = {
  service: 'Greeter', handler: 'greet', key: undefined, serviceType: 'SERVICE', handlerType: undefined, deploymentId: 'dp_1', retentionMs: 60_000,
};

function invoke(bytes: number): Command {
  const inputEntry = toBinary(
    pb.InputCommandMessageSchema,
    create(pb.InputCommandMessageSchema, { value: { content: Buffer.alloc(bytes, 0x61) } }),
  );
  return {
    kind: 'invoke',
    invocation: {
      id: formatInvocationId(newInvocationId(undefined)),
      target: greeter,
      inputEntry,
      idempotencyKey: undefined,
      executeAt: undefined,
      createdAt: 1000,
      sink: undefined,
      sinkMode: 'result',
    },
  } as Command;
}

describe('a commit the store refuses', () => {
  let db: SqliteDb | undefined;
  afterEach(() => {
    db?.close();
    db = undefined;
  });

  function open(): { store: SqlitePartitionStore; worker: Worker; pages: () => number; limit: (pages: number) => void } {
    db = openSqlite(':memory:');
    const handle = db;
    const store = new SqlitePartitionStore(handle);
    const worker = new Worker(store, partitioner, () => undefined, pino({ level: 'silent' }));
    return {
      store,
      worker,
      pages: () => handle.pragma('page_count', { simple: true }) as number,
      limit: (pages) => void handle.pragma(`max_page_count = ${pages}`),
    };
  }

  it('fails every command of the batch with StoreUnavailableError, applies none, and reuses their LSNs', async () => {
    const { store, worker, pages, limit } = open();
    await worker.submit(0, invoke(10));
    limit(pages() + 2);
    const refused = [worker.submit(0, invoke(10)), worker.submit(0, invoke(64 * 1024)), worker.submit(1, invoke(10))];
    for (const r of refused) await expect(r).rejects.toThrow(StoreUnavailableError);
    await expect(refused[1]).rejects.toThrow(/refusing writes: the disk is full \(SQLITE_FULL/);
    expect(await store.listInvocationsInPhase(0, 'invoked')).toHaveLength(1);
    expect(await store.listInvocationsInPhase(1, 'invoked')).toHaveLength(0);

    limit(1_000_000);
    await worker.writable();
    await worker.submit(0, invoke(64 * 1024));
    await worker.submit(1, invoke(10));
    expect((await store.readLog(0, 0)).map((r) => r.lsn)).toEqual([1, 2]);
    expect((await store.readLog(1, 0)).map((r) => r.lsn)).toEqual([1]);
    expect((await store.getFsm(0)).appliedLsn).toBe(2);
    expect(await store.listInvocationsInPhase(0, 'invoked')).toHaveLength(2);
    await worker.close();
  });

  it('refuses every submit until the store takes writes again, and says so in its health', async () => {
    const { worker, pages, limit } = open();
    await worker.submit(0, invoke(10));
    limit(pages());
    await expect(worker.submit(0, invoke(64 * 1024))).rejects.toThrow(StoreUnavailableError);
    const health = worker.health();
    expect(health.state).toBe('refusing');
    if (health.state === 'refusing') expect(health.error.message).toMatch(/the disk is full/);
    // Even a command that would fit is refused until a probe commit succeeds: nothing may
    // overtake a refused command whose submitter has not seen the refusal yet.
    await expect(worker.submit(0, invoke(0))).rejects.toThrow(StoreUnavailableError);

    limit(1_000_000);
    await worker.writable();
    expect(worker.health()).toEqual({ state: 'accepting' });
    await worker.submit(0, invoke(64 * 1024));
    await worker.close();
  });

  it('refuses the commands queued behind a refused batch, so a later command never lands without an earlier one', async () => {
    const { store, worker, pages, limit } = open();
    await worker.submit(0, invoke(10));
    // Hold the connection so that the next batch waits to commit while more commands queue.
    let release!: () => void;
    const held = store.transaction(async () => new Promise<void>((r) => (release = r)));
    const first = worker.submit(0, invoke(64 * 1024));
    await new Promise((r) => setImmediate(r));
    const behind = worker.submit(0, invoke(0));
    limit(pages());
    release();
    await held;
    await expect(first).rejects.toThrow(StoreUnavailableError);
    await expect(behind).rejects.toThrow(StoreUnavailableError);

    limit(1_000_000);
    await worker.writable();
    expect(await store.listInvocationsInPhase(0, 'invoked')).toHaveLength(1);
    expect((await store.readLog(0, 0)).map((r) => r.lsn)).toEqual([1]);
    await worker.close();
  });

  it('a refused log trim keeps the log, fails nothing, and a later trim covers it', async () => {
    db = openSqlite(':memory:');
    const handle = db;
    const store = new SqlitePartitionStore(handle);
    let readOnly = false;
    // The trim runs right after a batch's actions are handed over: refuse writes from there.
    const worker = new Worker(store, partitioner, () => void (readOnly && handle.pragma('query_only = ON')), pino({ level: 'silent' }));
    const submitMany = (n: number) => Promise.all(Array.from({ length: n }, () => worker.submit(0, invoke(0))));
    await submitMany(1999);
    readOnly = true;
    await submitMany(1);
    await new Promise((r) => setTimeout(r, 50));
    expect((await store.readLog(0, 0)).length).toBe(2000);

    readOnly = false;
    handle.pragma('query_only = OFF');
    await submitMany(1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(worker.health()).toEqual({ state: 'accepting' });
    expect((await store.readLog(0, 0)).map((r) => r.lsn)[0]).toBe(2001);
    await worker.close();
  });

  it('the probe of a refusing store writes only to a partition this worker leads, under its lease', async () => {
    db = openSqlite(':memory:');
    const handle = db;
    const store = new SqlitePartitionStore(handle);
    const lease = await store.acquireLease(1, 'me', 0, 60_000);
    // Leads partition 1 only: partition 0 belongs to another node, whose fsm row must stay untouched.
    const leadership: Leadership = { epochOf: (p) => (p === 1 ? lease?.epoch : undefined) };
    const worker = new Worker(store, partitioner, () => undefined, pino({ level: 'silent' }), leadership);
    const fsmRows = () => (handle.prepare('SELECT partition FROM fsm ORDER BY partition').all() as { partition: number }[]).map((r) => r.partition);
    const before = fsmRows();
    expect(before).not.toContain(0);
    handle.pragma(`max_page_count = ${handle.pragma('page_count', { simple: true }) as number}`);
    await expect(worker.submit(1, invoke(64 * 1024))).rejects.toThrow(StoreUnavailableError);
    handle.pragma('max_page_count = 1000000');
    await worker.writable();
    expect(worker.health()).toEqual({ state: 'accepting' });
    expect(fsmRows()).not.toContain(0);
    await worker.submit(1, invoke(10));
    expect((await store.readLog(1, 0)).map((r) => r.lsn)).toEqual([1]);
    await worker.close();
  });
});
