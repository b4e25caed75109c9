import { afterEach, describe, expect, it } from 'vitest';
import { SqlitePartitionStore, openSqlite, type SqliteDb } from '../../src/store/index.ts';
import { StatusCache } from '../../src/store/status-cache.ts';
import type { InvocationStatus } from '../../src/worker/index.ts';

// The SQLite store keeps hot invocation status records decoded in memory. What it answers must
// stay what the database holds: after rollbacks, and whatever a caller does to what it got.

function status(id: string, journalLength = 1): InvocationStatus {
  return {
    id,
    partition: 0,
    phase: 'invoked',
    target: { service: 'Greeter', handler: 'greet', key: undefined, serviceType: 'SERVICE', handlerType: undefined, deploymentId: 'dp_1', retentionMs: 60_000 },
    idempotencyKey: undefined,
    createdAt: 1000,
    modifiedAt: 1000,
    completedAt: undefined,
    journalLength,
    commandCount: 1,
    waiting: undefined,
    sinks: [],
    result: undefined,
  };
}

describe('cached invocation status records', () => {
  let db: SqliteDb | undefined;
  afterEach(() => {
    db?.close();
    db = undefined;
  });
  function open(): SqlitePartitionStore {
    db = openSqlite(':memory:');
    return new SqlitePartitionStore(db);
  }

  it('a status written in a savepoint or transaction that rolls back reads back as it was', async () => {
    const store = open();
    await store.transaction((tx) => tx.putInvocation(status('inv_a')));
    await store.transaction(async (tx) => {
      await store
        .savepoint(tx, async () => {
          await tx.putInvocation(status('inv_a', 5));
          expect((await tx.getInvocation('inv_a'))?.journalLength).toBe(5);
          throw new Error('undo');
        })
        .catch(() => undefined);
      expect((await tx.getInvocation('inv_a'))?.journalLength).toBe(1);
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.putInvocation(status('inv_a', 7));
        await tx.deleteInvocation('inv_a');
        await tx.putInvocation(status('inv_b'));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await store.getInvocation('inv_a'))?.journalLength).toBe(1);
    expect(await store.getInvocation('inv_b')).toBeUndefined();
    expect(await store.transaction((tx) => tx.getInvocation('inv_b'))).toBeUndefined();
  });

  it('changing a status that was read, without writing it, changes nothing stored or cached', async () => {
    const store = open();
    await store.transaction((tx) => tx.putInvocation(status('inv_a')));
    await store.transaction(async (tx) => {
      const s = (await tx.getInvocation('inv_a'))!;
      s.journalLength = 9;
      s.sinks.push({ kind: 'ingress', node: 'n', requestId: 1 });
      s.phase = 'completed';
    });
    expect(await store.getInvocation('inv_a')).toEqual(status('inv_a'));
    // A written status is copied too: changing the object after the write changes nothing.
    await store.transaction(async (tx) => {
      const s = status('inv_a', 2);
      await tx.putInvocation(s);
      s.sinks.push({ kind: 'ingress', node: 'n', requestId: 2 });
    });
    expect(await store.getInvocation('inv_a')).toEqual(status('inv_a', 2));
  });

  it('holds at most its capacity, dropping the least recently used', () => {
    const cache = new StatusCache(2);
    cache.fill(status('inv_a'));
    cache.fill(status('inv_b'));
    expect(cache.get('inv_a')).toBeDefined();
    cache.fill(status('inv_c'));
    expect(cache.get('inv_b')).toBeUndefined();
    expect(cache.get('inv_a')).toBeDefined();
    expect(cache.get('inv_c')).toBeDefined();
  });
});
