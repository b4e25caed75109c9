// The partition store contract: what every backend of `PartitionStore` must do. A backend's test
// file calls `partitionStoreContract` with a factory that returns a fresh, empty store; the
// suite uses the interfaces only, so SQLite and PostgreSQL pass the same assertions.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageType } from '../../src/protocol/index.ts';
import type { PartitionStore, PartitionTx } from '../../src/store/index.ts';
import { bareStatus, b, fullStatus, hex, plain, utf8, type Opened } from './fixtures.ts';
import { partitionRecordsContract } from './partition-records.contract.ts';

/** Registers the partition store contract for one backend. */
export function partitionStoreContract(name: string, open: () => Promise<Opened<PartitionStore>>): void {
  describe(`PartitionStore contract [${name}]`, () => {
    let opened: Opened<PartitionStore>;
    let store: PartitionStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });
    const get = (): PartitionStore => store;

    describe('commit and rollback', () => commitAndRollback(get));
    describe('savepoints', () => savepoints(get));
    describe('serialization', () => serialization(get));
    describe('reads while a transaction is open', () => readsDuringTransaction(get));
    describe('loading an invocation to start it', () => loadingInvocations(get));
    partitionRecordsContract(get);
  });
}

const P = 3;
const Q = 4;

/** Thrown by tests to abort a transaction on purpose. */
class Abort extends Error {
  constructor() {
    super('abort on purpose');
  }
}

/** Yields to the event loop a few times, so that anything else that could run, runs. */
async function pause(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setTimeout(resolve, 1));
}

/** Writes one row (or more) into every table, all keyed by `tag`. */
async function writeEverywhere(tx: PartitionTx, tag: string, lsn: number): Promise<void> {
  await tx.putFsm(P, { appliedLsn: lsn, epoch: lsn + 1, outboxSeq: lsn + 2, inboxSeq: lsn + 3 });
  await tx.appendLog(P, lsn, utf8(`log-${tag}`));
  await tx.putInvocation(fullStatus(`inv_${tag}`, { partition: P, phase: 'invoked' }));
  await tx.appendJournal(`inv_${tag}`, { index: 0, type: MessageType.InputCommand, completionId: undefined, body: utf8(tag) });
  await tx.appendJournal(`inv_${tag}`, { index: 1, type: MessageType.SleepCompletionNotification, completionId: 1, body: b() });
  await tx.setState('Counter', 'k', utf8(tag), utf8(`v-${tag}`));
  await tx.setLock('Counter', `lock-${tag}`, `inv_${tag}`);
  await tx.pushInbox(P, 'Counter', 'k', lsn, `inv_${tag}`);
  await tx.putOutbox(P, lsn, utf8(`out-${tag}`));
  await tx.putTimer({ partition: P, key: `t-${tag}`, fireAt: 1000 + lsn, payload: { kind: 'sleep', id: `inv_${tag}`, completionId: 1 } });
  await tx.putIdempotency('Counter', 'k', 'add', `ik-${tag}`, `inv_${tag}`);
  await tx.putDedup(P, `producer-${tag}`, lsn);
  await tx.putPromise('Wf', 'k', `p-${tag}`, { result: { ok: true, value: utf8(tag) }, waiters: [] });
}

/**
 * Everything the store holds about the tags in `tags`, read through the interface. Runs in a
 * transaction that is then aborted, because reading the inbox pops it.
 */
async function contents(store: PartitionStore, tags: string[]): Promise<unknown> {
  const reader = {
    fsm: await store.getFsm(P),
    log: (await store.readLog(P, 0)).map((r) => [r.lsn, hex(r.payload)]),
    outbox: (await store.listOutbox(P)).map((r) => [r.seq, hex(r.payload)]),
    timers: await store.listTimers(P),
    state: (await store.getAllState('Counter', 'k')).map(([n, v]) => [hex(n), hex(v)]),
    invoked: (await store.listInvocationsInPhase(P, 'invoked')).sort(),
    invocations: await Promise.all(tags.map(async (t) => plain(await store.getInvocation(`inv_${t}`)))),
    journals: await Promise.all(tags.map(async (t) => plain(await store.readJournal(`inv_${t}`)))),
  };
  let inTx: unknown;
  await store
    .transaction(async (tx) => {
      const perTag: unknown[] = [];
      for (const t of tags) {
        perTag.push({
          invocation: plain(await tx.getInvocation(`inv_${t}`)),
          journal: plain(await tx.readJournal(`inv_${t}`)),
          completion: await tx.hasCompletion(`inv_${t}`, 1),
          state: hex(await tx.getState('Counter', 'k', utf8(t))),
          lock: await tx.getLock('Counter', `lock-${t}`),
          timer: await tx.getTimer(P, `t-${t}`),
          idempotency: await tx.getIdempotency('Counter', 'k', 'add', `ik-${t}`),
          dedup: await tx.getDedup(P, `producer-${t}`),
          promise: plain(await tx.getPromise('Wf', 'k', `p-${t}`)),
        });
      }
      const inbox: (string | undefined)[] = [];
      for (let id = await tx.popInbox('Counter', 'k'); id !== undefined; id = await tx.popInbox('Counter', 'k')) inbox.push(id);
      inTx = { perTag, inbox, fsm: await tx.getFsm(P), state: (await tx.getAllState('Counter', 'k')).length };
      throw new Abort();
    })
    .catch((err: unknown) => {
      if (!(err instanceof Abort)) throw err;
    });
  return { reader, inTx };
}

function commitAndRollback(store: () => PartitionStore): void {
  it('a committed transaction is visible to later reads and to later transactions', async () => {
    await store().transaction((tx) => writeEverywhere(tx, 'a', 10));
    const seen = (await contents(store(), ['a'])) as { reader: Record<string, unknown>; inTx: Record<string, unknown> };
    expect(seen.reader.fsm).toEqual({ appliedLsn: 10, epoch: 11, outboxSeq: 12, inboxSeq: 13 });
    expect(seen.reader.log).toEqual([[10, hex(utf8('log-a'))]]);
    expect(seen.reader.outbox).toEqual([[10, hex(utf8('out-a'))]]);
    expect(seen.reader.state).toEqual([[hex(utf8('a')), hex(utf8('v-a'))]]);
    expect(seen.reader.invoked).toEqual(['inv_a']);
    expect(seen.reader.invocations).toEqual([plain(fullStatus('inv_a', { partition: P, phase: 'invoked' }))]);
    expect(seen.inTx.inbox).toEqual(['inv_a']);
    const [row] = seen.inTx.perTag as Record<string, unknown>[];
    expect(row).toMatchObject({
      completion: true,
      state: hex(utf8('v-a')),
      lock: 'inv_a',
      idempotency: 'inv_a',
      dedup: 10,
      timer: { partition: P, key: 't-a', fireAt: 1010, payload: { kind: 'sleep', id: 'inv_a', completionId: 1 } },
    });
  });

  it('a transaction resolves with what its function resolved with', async () => {
    await expect(store().transaction(async () => ({ answer: 42 }))).resolves.toEqual({ answer: 42 });
  });

  it('a transaction whose function throws rejects with that error and leaves nothing behind in any table', async () => {
    await store().transaction((tx) => writeEverywhere(tx, 'base', 10));
    const before = await contents(store(), ['base', 'new']);

    const failure = new Abort();
    const attempt = store().transaction(async (tx) => {
      await writeEverywhere(tx, 'new', 20);
      // Change and remove what was committed before, too.
      await tx.putFsm(P, { appliedLsn: 99, epoch: 99, outboxSeq: 99, inboxSeq: 99 });
      await tx.putInvocation(bareStatus('inv_base', { partition: P, phase: 'completed' }));
      await tx.deleteJournal('inv_base');
      await tx.clearAllState('Counter', 'k');
      await tx.deleteLock('Counter', 'lock-base');
      await tx.popInbox('Counter', 'k');
      await tx.deleteOutboxUpTo(P, 100);
      await tx.deleteTimer(P, 't-base');
      await tx.deleteIdempotency('Counter', 'k', 'add', 'ik-base');
      await tx.putDedup(P, 'producer-base', 99);
      await tx.deleteAllPromises('Wf', 'k');
      await pause();
      throw failure;
    });
    await expect(attempt).rejects.toBe(failure);

    expect(await contents(store(), ['base', 'new'])).toEqual(before);
  });

  it('a transaction that throws before writing anything leaves the store usable', async () => {
    await expect(
      store().transaction(async () => {
        throw new Abort();
      }),
    ).rejects.toBeInstanceOf(Abort);
    await store().transaction(async (tx) => tx.putDedup(P, 'p', 1));
    await store().transaction(async (tx) => expect(await tx.getDedup(P, 'p')).toBe(1));
  });

  it('a failed transaction does not hold up the transactions and reads queued behind it', async () => {
    const failing = store().transaction(async (tx) => {
      await tx.putDedup(P, 'p', 1);
      await pause();
      throw new Abort();
    });
    const next = store().transaction(async (tx) => {
      expect(await tx.getDedup(P, 'p')).toBeUndefined();
      await tx.putDedup(P, 'p', 2);
    });
    const read = store().getFsm(Q);
    await expect(failing).rejects.toBeInstanceOf(Abort);
    await next;
    await expect(read).resolves.toEqual({ appliedLsn: 0, epoch: 0, outboxSeq: 0, inboxSeq: 0 });
    await store().transaction(async (tx) => expect(await tx.getDedup(P, 'p')).toBe(2));
  });

  it('a write the database refuses fails the transaction with its own error, and nothing of it is stored', async () => {
    await store().transaction((tx) => tx.appendLog(P, 1, b(1)));
    await expect(
      store().transaction(async (tx) => {
        await tx.setState('S', 'k', utf8('n'), utf8('v'));
        // LSN 1 exists: the database refuses the row (the error may surface at a later await).
        await tx.appendLog(P, 1, b(2));
        await tx.putDedup(P, 'p', 1);
      }),
    ).rejects.toThrow(/unique/i);
    expect(await store().getAllState('S', 'k')).toEqual([]);
    expect((await store().readLog(P, 0)).map((r) => hex(r.payload))).toEqual(['01']);
    await store().transaction(async (tx) => expect(await tx.getDedup(P, 'p')).toBeUndefined());
  });

  it('a transaction sees its own writes before it commits', async () => {
    await store().transaction(async (tx) => {
      await tx.setState('S', 'k', utf8('n'), utf8('v'));
      await tx.putFsm(P, { appliedLsn: 5, epoch: 1, outboxSeq: 0, inboxSeq: 0 });
      await tx.putInvocation(bareStatus('inv_x'));
      expect(hex(await tx.getState('S', 'k', utf8('n')))).toBe(hex(utf8('v')));
      expect((await tx.getFsm(P)).appliedLsn).toBe(5);
      expect(plain(await tx.getInvocation('inv_x'))).toEqual(plain(bareStatus('inv_x')));
    });
  });
}

function savepoints(store: () => PartitionStore): void {
  /** State of key k as [name, value] text pairs. */
  const stateOf = async (): Promise<[string, string][]> =>
    (await store().getAllState('S', 'k')).map(([n, v]) => [Buffer.from(n).toString(), Buffer.from(v).toString()]);

  it('a savepoint whose function throws undoes only its own writes', async () => {
    const failure = new Abort();
    await store().transaction(async (tx) => {
      await tx.setState('S', 'k', utf8('before'), utf8('1'));
      await tx.putFsm(P, { appliedLsn: 1, epoch: 1, outboxSeq: 1, inboxSeq: 1 });
      const sp = store().savepoint(tx, async () => {
        await tx.setState('S', 'k', utf8('before'), utf8('changed'));
        await tx.setState('S', 'k', utf8('inside'), utf8('2'));
        await tx.putFsm(P, { appliedLsn: 2, epoch: 2, outboxSeq: 2, inboxSeq: 2 });
        await tx.putOutbox(P, 1, utf8('o'));
        await tx.appendJournal('inv_x', { index: 0, type: MessageType.InputCommand, completionId: undefined, body: b(1) });
        await pause();
        throw failure;
      });
      await expect(sp).rejects.toBe(failure);
      // Inside the transaction, right after: the savepoint's writes are gone, earlier ones stay.
      expect(hex(await tx.getState('S', 'k', utf8('before')))).toBe(hex(utf8('1')));
      expect(await tx.getState('S', 'k', utf8('inside'))).toBeUndefined();
      expect(await tx.readJournal('inv_x')).toEqual([]);
      await tx.setState('S', 'k', utf8('after'), utf8('3'));
    });
    expect(await stateOf()).toEqual([
      ['after', '3'],
      ['before', '1'],
    ]);
    expect(await store().getFsm(P)).toEqual({ appliedLsn: 1, epoch: 1, outboxSeq: 1, inboxSeq: 1 });
    expect(await store().listOutbox(P)).toEqual([]);
    expect(await store().readJournal('inv_x')).toEqual([]);
  });

  it('a write the database refuses inside a savepoint fails that savepoint alone; the rest commits', async () => {
    await store().transaction(async (tx) => {
      await tx.appendLog(P, 1, b(1));
      await tx.setState('S', 'k', utf8('before'), utf8('1'));
      const sp = store().savepoint(tx, async () => {
        await tx.setState('S', 'k', utf8('inside'), utf8('2'));
        await tx.appendLog(P, 1, b(2));
        await tx.setState('S', 'k', utf8('inside2'), utf8('3'));
      });
      await expect(sp).rejects.toThrow(/unique/i);
      await tx.appendLog(P, 2, b(3));
      await tx.setState('S', 'k', utf8('after'), utf8('4'));
      expect(await tx.getState('S', 'k', utf8('inside'))).toBeUndefined();
    });
    expect(await stateOf()).toEqual([
      ['after', '4'],
      ['before', '1'],
    ]);
    expect((await store().readLog(P, 0)).map((r) => [r.lsn, hex(r.payload)])).toEqual([
      [1, '01'],
      [2, '03'],
    ]);
  });

  it('a savepoint that succeeds keeps its writes and resolves with its value', async () => {
    await store().transaction(async (tx) => {
      const value = await store().savepoint(tx, async () => {
        await tx.setState('S', 'k', utf8('inside'), utf8('2'));
        return 'done';
      });
      expect(value).toBe('done');
    });
    expect(await stateOf()).toEqual([['inside', '2']]);
  });

  it('a failed inner savepoint leaves the enclosing savepoint and transaction intact', async () => {
    await store().transaction(async (tx) => {
      await store().savepoint(tx, async () => {
        await tx.setState('S', 'k', utf8('outer'), utf8('1'));
        await store()
          .savepoint(tx, async () => {
            await tx.setState('S', 'k', utf8('inner'), utf8('2'));
            throw new Abort();
          })
          .catch(() => undefined);
        await tx.setState('S', 'k', utf8('outer2'), utf8('3'));
      });
    });
    expect(await stateOf()).toEqual([
      ['outer', '1'],
      ['outer2', '3'],
    ]);
  });

  it('savepoints in sequence are independent: a later failure keeps an earlier success', async () => {
    await store().transaction(async (tx) => {
      await store().savepoint(tx, async () => tx.setState('S', 'k', utf8('first'), utf8('1')));
      await store()
        .savepoint(tx, async () => {
          await tx.setState('S', 'k', utf8('second'), utf8('2'));
          throw new Abort();
        })
        .catch(() => undefined);
      await store().savepoint(tx, async () => tx.setState('S', 'k', utf8('third'), utf8('3')));
    });
    expect(await stateOf()).toEqual([
      ['first', '1'],
      ['third', '3'],
    ]);
  });

  it('a transaction that throws after a successful savepoint rolls the savepoint back too', async () => {
    await expect(
      store().transaction(async (tx) => {
        await store().savepoint(tx, async () => tx.setState('S', 'k', utf8('inside'), utf8('1')));
        throw new Abort();
      }),
    ).rejects.toBeInstanceOf(Abort);
    expect(await stateOf()).toEqual([]);
  });

  it('a savepoint error that escapes the transaction rolls back the whole transaction', async () => {
    await expect(
      store().transaction(async (tx) => {
        await tx.setState('S', 'k', utf8('before'), utf8('1'));
        await store().savepoint(tx, async () => {
          await tx.setState('S', 'k', utf8('inside'), utf8('2'));
          throw new Abort();
        });
      }),
    ).rejects.toBeInstanceOf(Abort);
    expect(await stateOf()).toEqual([]);
  });
}

function serialization(store: () => PartitionStore): void {
  it('two concurrent transactions never interleave, even when both await inside', async () => {
    const events: string[] = [];
    const run = (name: string) =>
      store().transaction(async (tx) => {
        events.push(`${name}:begin`);
        await pause();
        await tx.putDedup(P, name, 1);
        await pause();
        events.push(`${name}:end`);
      });
    await Promise.all([run('a'), run('b')]);
    expect([
      ['a:begin', 'a:end', 'b:begin', 'b:end'],
      ['b:begin', 'b:end', 'a:begin', 'a:end'],
    ]).toContainEqual(events);
  });

  it('concurrent read-modify-write transactions lose no update', async () => {
    const n = 20;
    await Promise.all(
      Array.from({ length: n }, () =>
        store().transaction(async (tx) => {
          const seen = (await tx.getDedup(P, 'counter')) ?? 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          await tx.putDedup(P, 'counter', seen + 1);
        }),
      ),
    );
    await store().transaction(async (tx) => expect(await tx.getDedup(P, 'counter')).toBe(n));
  });

  it('a transaction started while another one is open sees everything the first one committed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = store().transaction(async (tx) => {
      await tx.setState('S', 'k', utf8('a'), utf8('1'));
      await gate;
      await tx.setState('S', 'k', utf8('b'), utf8('2'));
    });
    const second = store().transaction(async (tx) => (await tx.getAllState('S', 'k')).length);
    await pause();
    release();
    await first;
    expect(await second).toBe(2);
  });
}

function readsDuringTransaction(store: () => PartitionStore): void {
  /** Every reader method at once; none awaited by the caller while its transaction is open. */
  const readAll = (s: PartitionStore) =>
    Promise.all([
      s.getInvocation('inv_r'),
      s.readJournal('inv_r'),
      s.getAllState('S', 'k'),
      s.listInvocationsInPhase(P, 'invoked'),
      s.listTimers(P),
      s.listOutbox(P),
      s.getFsm(P),
      s.readLog(P, 0),
    ]);

  const writeRecords = async (tx: PartitionTx, part: 1 | 2): Promise<void> => {
    if (part === 1) {
      await tx.putInvocation(bareStatus('inv_r', { partition: P, phase: 'invoked' }));
      await tx.appendJournal('inv_r', { index: 0, type: MessageType.InputCommand, completionId: undefined, body: b(1) });
      await tx.setState('S', 'k', utf8('a'), utf8('1'));
      await tx.putTimer({ partition: P, key: 't', fireAt: 5, payload: { kind: 'cleanup', id: 'inv_r' } });
    } else {
      await tx.setState('S', 'k', utf8('b'), utf8('2'));
      await tx.putOutbox(P, 1, b(2));
      await tx.putFsm(P, { appliedLsn: 1, epoch: 1, outboxSeq: 1, inboxSeq: 0 });
      await tx.appendLog(P, 1, b(3));
    }
  };

  it('a read issued while a transaction is open never sees writes that are then rolled back', async () => {
    const empty = await readAll(store());
    let reads!: ReturnType<typeof readAll>;
    await expect(
      store().transaction(async (tx) => {
        await writeRecords(tx, 1);
        reads = readAll(store());
        await pause();
        await writeRecords(tx, 2);
        await pause();
        throw new Abort();
      }),
    ).rejects.toBeInstanceOf(Abort);
    expect(plain(await reads)).toEqual(plain(empty));
  });

  it('a read issued while a transaction is open sees all of it or none of it', async () => {
    const empty = await readAll(store());
    let reads!: ReturnType<typeof readAll>;
    await store().transaction(async (tx) => {
      await writeRecords(tx, 1);
      reads = readAll(store());
      await pause();
      await writeRecords(tx, 2);
    });
    const full = await readAll(store());
    expect(plain(full)).not.toEqual(plain(empty));
    expect([plain(empty), plain(full)]).toContainEqual(plain(await reads));
  });
}

function loadingInvocations(store: () => PartitionStore): void {
  const target = { service: 'Big', handler: 'get', key: 'k', serviceType: 'VIRTUAL_OBJECT', handlerType: 'SHARED' } as const;

  async function objectWithState(entries: number, valueBytes: number): Promise<void> {
    await store().transaction(async (tx) => {
      await tx.putInvocation(bareStatus('inv_big', { partition: P, target: { ...bareStatus('x').target, ...target } }));
      for (let i = 0; i < entries; i++) await tx.setState('Big', 'k', utf8(`n${i}`), new Uint8Array(valueBytes).fill(i));
    });
  }

  it("loads the key's state with the invocation when it fits the limit", async () => {
    await objectWithState(3, 100);
    const loaded = await store().loadInvocation('inv_big', () => true, 1000);
    expect(loaded?.status.id).toBe('inv_big');
    expect(loaded?.state?.map(([n, v]) => [hex(n), v.length])).toEqual([
      [hex(utf8('n0')), 100],
      [hex(utf8('n1')), 100],
      [hex(utf8('n2')), 100],
    ]);
  });

  it('leaves out a state larger than the limit, and everything without a limit', async () => {
    await objectWithState(20, 100);
    const limited = await store().loadInvocation('inv_big', () => true, 1000);
    expect(limited?.status.id).toBe('inv_big');
    expect(limited?.state).toBeUndefined();
    expect((await store().loadInvocation('inv_big', () => true))?.state).toHaveLength(20);
    expect((await store().loadInvocation('inv_big', () => false, 1000))?.state).toBeUndefined();
  });
}
