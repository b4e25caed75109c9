// Round trips of every record a partition transaction writes, read back through both the
// transaction and the reader. Registered by `partitionStoreContract`, inside its describe.
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../src/protocol/index.ts';
import type { JournalEntry, PartitionStore, PartitionTx, TimerRecord } from '../../src/store/index.ts';
import type { InvocationStatus } from '../../src/worker/index.ts';
import { flowLimiters, flowRules, schedules as scheduleRecords } from '../fixtures/records/values.ts';
import { NON_UTF8, b, bareStatus, fullStatus, hex, plain, utf8 } from './fixtures.ts';

const P = 3;
const Q = 4;

/** Registers the round-trip tests; `store` returns the current test's store. */
export function partitionRecordsContract(store: () => PartitionStore): void {
  const tx = <T>(fn: (tx: PartitionTx) => Promise<T>): Promise<T> => store().transaction(fn);

  describe('fsm', () => fsm(store, tx));
  describe('log', () => log(store, tx));
  describe('invocation status', () => invocations(store, tx));
  describe('journal', () => journal(store, tx));
  describe('state', () => state(store, tx));
  describe('locks, inbox, outbox', () => queues(store, tx));
  describe('timers', () => timers(store, tx));
  describe('idempotency, dedup, promises', () => indexes(tx));
  describe('schedules', () => schedules(store, tx));
  describe('flow rules and limiters', () => flow(store, tx));
}

type Tx = <T>(fn: (tx: PartitionTx) => Promise<T>) => Promise<T>;

function fsm(store: () => PartitionStore, tx: Tx): void {
  const zero = { appliedLsn: 0, epoch: 0, outboxSeq: 0, inboxSeq: 0 };

  it('an unknown partition reads as all zeros, through the reader and a transaction', async () => {
    expect(await store().getFsm(P)).toEqual(zero);
    expect(await tx((t) => t.getFsm(P))).toEqual(zero);
  });

  it('a written record reads back exactly, per partition, and can be overwritten', async () => {
    const big = { appliedLsn: 2 ** 40, epoch: 7, outboxSeq: 123_456_789, inboxSeq: 1 };
    await tx((t) => t.putFsm(P, big));
    expect(await store().getFsm(P)).toEqual(big);
    expect(await store().getFsm(Q)).toEqual(zero);
    await tx((t) => t.putFsm(P, { ...big, appliedLsn: big.appliedLsn + 1 }));
    expect(await tx((t) => t.getFsm(P))).toEqual({ ...big, appliedLsn: big.appliedLsn + 1 });
  });
}

function log(store: () => PartitionStore, tx: Tx): void {
  const lsns = (rows: { lsn: number; payload: Uint8Array }[]) => rows.map((r) => r.lsn);

  it('readLog returns the records after an LSN, in LSN order, with their bytes, per partition', async () => {
    await tx(async (t) => {
      for (const lsn of [1, 2, 3, 5, 8]) await t.appendLog(P, lsn, b(lsn, 0xff));
      await t.appendLog(Q, 4, b());
      await t.appendLog(P, 9, NON_UTF8);
      await t.appendLog(P, 10, b());
    });
    const all = await store().readLog(P, 0);
    expect(lsns(all)).toEqual([1, 2, 3, 5, 8, 9, 10]);
    expect(all[0]?.payload).toBeInstanceOf(Uint8Array);
    expect(hex(all[3]?.payload)).toBe('05ff');
    expect(hex(all[5]?.payload)).toBe(hex(NON_UTF8));
    expect(hex(all[6]?.payload)).toBe('');
    expect(lsns(await store().readLog(P, 3))).toEqual([5, 8, 9, 10]);
    expect(lsns(await store().readLog(P, 4))).toEqual([5, 8, 9, 10]);
    expect(lsns(await store().readLog(P, 10))).toEqual([]);
    expect((await store().readLog(Q, 0)).map((r) => [r.lsn, hex(r.payload)])).toEqual([[4, '']]);
  });

  it('trimLog removes the records up to and including an LSN of one partition only', async () => {
    await tx(async (t) => {
      for (const lsn of [1, 2, 3, 4, 5]) {
        await t.appendLog(P, lsn, b(lsn));
        await t.appendLog(Q, lsn, b(lsn));
      }
    });
    await store().trimLog(P, 3);
    expect(lsns(await store().readLog(P, 0))).toEqual([4, 5]);
    expect(lsns(await store().readLog(Q, 0))).toEqual([1, 2, 3, 4, 5]);
    await store().trimLog(P, 100);
    expect(await store().readLog(P, 0)).toEqual([]);
    await tx((t) => t.appendLog(P, 6, b(6)));
    expect(lsns(await store().readLog(P, 0))).toEqual([6]);
  });
}

function invocations(store: () => PartitionStore, tx: Tx): void {
  /** Checks the record read back equals the one written, bytes and undefined fields included. */
  const expectSame = (read: InvocationStatus | undefined, written: InvocationStatus) => {
    expect(read).toBeDefined();
    expect(plain(read)).toEqual(plain(written));
  };

  it('a status with every field set round-trips exactly, bytes inside results and sinks included', async () => {
    const statuses = [
      fullStatus('inv_full'),
      fullStatus('inv_empty_value', { result: { ok: true, value: b() } }),
      fullStatus('inv_failed', { result: { ok: false, code: 500, message: 'boom ✗', metadata: [['k', 'v'], ['', '']] } }),
      fullStatus('inv_failed_nometa', { result: { ok: false, code: 409, message: '' } }),
    ];
    await tx(async (t) => {
      for (const s of statuses) await t.putInvocation(s);
    });
    for (const s of statuses) {
      expectSame(await store().getInvocation(s.id), s);
      expectSame(await tx((t) => t.getInvocation(s.id)), s);
    }
    const read = await store().getInvocation('inv_full');
    const result = read?.result;
    expect(result?.ok).toBe(true);
    if (result?.ok) {
      expect(result.value).toBeInstanceOf(Uint8Array);
      expect(hex(result.value)).toBe(hex(NON_UTF8));
    }
    const empty = (await store().getInvocation('inv_empty_value'))?.result;
    expect(empty?.ok && empty.value).toBeInstanceOf(Uint8Array);
    expect(empty?.ok && empty.value.length).toBe(0);
    expect(read?.sinks[2]).toEqual({ kind: 'invocation', id: 'inv_attacher', partition: 5, completionId: 8, notificationType: 0x8012 });
    expect(read?.sinks[1]).not.toHaveProperty('notificationType', expect.anything());
  });

  it('a status whose optional fields are undefined reads them back as undefined, not null', async () => {
    const bare = bareStatus('inv_bare');
    await tx((t) => t.putInvocation(bare));
    for (const read of [await store().getInvocation('inv_bare'), await tx((t) => t.getInvocation('inv_bare'))]) {
      expectSame(read, bare);
      expect(read?.idempotencyKey).toBeUndefined();
      expect(read?.completedAt).toBeUndefined();
      expect(read?.waiting).toBeUndefined();
      expect(read?.result).toBeUndefined();
      expect(read?.target.key).toBeUndefined();
      expect(read?.target.handlerType).toBeUndefined();
      expect(read?.sinks).toEqual([]);
    }
  });

  it('putInvocation replaces the whole record; deleteInvocation removes it; unknown ids read as undefined', async () => {
    const first = fullStatus('inv_x', { phase: 'invoked', result: undefined, completedAt: undefined });
    const second = bareStatus('inv_x', { partition: first.partition, phase: 'suspended', journalLength: 4 });
    await tx((t) => t.putInvocation(first));
    await tx((t) => t.putInvocation(second));
    expectSame(await store().getInvocation('inv_x'), second);
    await tx((t) => t.deleteInvocation('inv_x'));
    expect(await store().getInvocation('inv_x')).toBeUndefined();
    expect(await tx((t) => t.getInvocation('inv_x'))).toBeUndefined();
    await tx((t) => t.deleteInvocation('inv_never'));
    expect(await store().getInvocation('inv_never')).toBeUndefined();
  });

  it('listInvocationsInPhase filters by partition and phase, and follows updates and deletes', async () => {
    await tx(async (t) => {
      await t.putInvocation(bareStatus('inv_p_invoked_1', { partition: P, phase: 'invoked' }));
      await t.putInvocation(bareStatus('inv_p_invoked_2', { partition: P, phase: 'invoked' }));
      await t.putInvocation(bareStatus('inv_p_suspended', { partition: P, phase: 'suspended' }));
      await t.putInvocation(bareStatus('inv_q_invoked', { partition: Q, phase: 'invoked' }));
      await t.putInvocation(bareStatus('inv_p_scheduled', { partition: P, phase: 'scheduled' }));
    });
    const list = async (partition: number, phase: InvocationStatus['phase']) =>
      (await store().listInvocationsInPhase(partition, phase)).sort();
    expect(await list(P, 'invoked')).toEqual(['inv_p_invoked_1', 'inv_p_invoked_2']);
    expect(await list(P, 'suspended')).toEqual(['inv_p_suspended']);
    expect(await list(P, 'scheduled')).toEqual(['inv_p_scheduled']);
    expect(await list(Q, 'invoked')).toEqual(['inv_q_invoked']);
    expect(await list(P, 'completed')).toEqual([]);
    expect(await list(99, 'invoked')).toEqual([]);

    await tx(async (t) => {
      await t.putInvocation(bareStatus('inv_p_invoked_1', { partition: P, phase: 'completed', completedAt: 5 }));
      await t.deleteInvocation('inv_p_invoked_2');
    });
    expect(await list(P, 'invoked')).toEqual([]);
    expect(await list(P, 'completed')).toEqual(['inv_p_invoked_1']);
  });
}

function journal(store: () => PartitionStore, tx: Tx): void {
  const T = MessageType;
  const entry = (index: number, type: number, completionId?: number, signalName?: string, body = b(index)): JournalEntry =>
    signalName === undefined ? { index, type, completionId, body } : { index, type, completionId, signalName, body };

  it('entries read back in index order with their fields and bytes, through the reader and a transaction', async () => {
    const entries = [
      entry(0, T.InputCommand, undefined, undefined, NON_UTF8),
      entry(1, T.SleepCommand, undefined, undefined, b()),
      entry(2, T.SleepCompletionNotification, 0),
      entry(3, T.SignalNotification, 17),
      entry(4, T.SignalNotification, undefined, 'approved ✓'),
      entry(10, 0xfc01),
    ];
    await tx(async (t) => {
      for (const e of [entries[3], entries[0], entries[5], entries[2], entries[1], entries[4]]) await t.appendJournal('inv_j', e!);
      await t.appendJournal('inv_other', entry(0, T.InputCommand));
    });
    for (const read of [await store().readJournal('inv_j'), await tx((t) => t.readJournal('inv_j'))]) {
      expect(read.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 10]);
      expect(read.map((e) => plain({ ...e, signalName: e.signalName }))).toEqual(
        entries.map((e) => plain({ ...e, signalName: e.signalName })),
      );
      expect(read[0]?.body).toBeInstanceOf(Uint8Array);
      // Completion id 0 is an id, not an absence.
      expect(read[2]?.completionId).toBe(0);
      expect(read[0]?.completionId).toBeUndefined();
      expect(read[0]?.signalName ?? undefined).toBeUndefined();
    }
    expect(await store().readJournal('inv_unknown')).toEqual([]);
  });

  it('hasCompletion is true only for completion notifications (type >= 0x8000), never for commands or signals', async () => {
    await tx(async (t) => {
      await t.appendJournal('inv_j', entry(0, T.InputCommand));
      await t.appendJournal('inv_j', entry(1, T.CallCommand, 1));
      await t.appendJournal('inv_j', entry(2, T.SignalNotification, 2));
      await t.appendJournal('inv_j', entry(3, T.CallCompletionNotification, 3));
      await t.appendJournal('inv_j', entry(4, T.RunCompletionNotification, 0));
      await t.appendJournal('inv_other', entry(0, T.SleepCompletionNotification, 6));
    });
    const has = await tx(async (t) =>
      Promise.all([0, 1, 2, 3, 6, 7].map(async (c) => [c, await t.hasCompletion('inv_j', c)])),
    );
    expect(Object.fromEntries(has)).toEqual({ 0: true, 1: false, 2: false, 3: true, 6: false, 7: false });
    expect(await tx((t) => t.hasCompletion('inv_unknown', 3))).toBe(false);
  });

  it('hasCompletion ignores custom entries (types 0xfc00 and up), which are commands, not notifications', async () => {
    await tx(async (t) => {
      await t.appendJournal('inv_j', entry(0, T.InputCommand));
      await t.appendJournal('inv_j', entry(1, 0xfc02, 5));
      await t.appendJournal('inv_j', entry(2, 0xffff, 6));
    });
    expect(await tx(async (t) => [await t.hasCompletion('inv_j', 5), await t.hasCompletion('inv_j', 6)])).toEqual([false, false]);
  });

  it('hasSignal finds signal notifications by index or by name, never completions', async () => {
    await tx(async (t) => {
      await t.appendJournal('inv_j', entry(0, T.SignalNotification, 17));
      await t.appendJournal('inv_j', entry(1, T.SignalNotification, undefined, 'approved'));
      await t.appendJournal('inv_j', entry(2, T.CallCompletionNotification, 18));
      await t.appendJournal('inv_other', entry(0, T.SignalNotification, 19));
    });
    const has = (s: number | string) => tx((t) => t.hasSignal('inv_j', s));
    expect(await has(17)).toBe(true);
    expect(await has('approved')).toBe(true);
    expect(await has(18)).toBe(false);
    expect(await has(19)).toBe(false);
    expect(await has('17')).toBe(false);
    expect(await has('other')).toBe(false);
  });

  it('deleteJournal removes every entry, or those from an index on, of one invocation only', async () => {
    await tx(async (t) => {
      for (const i of [0, 1, 2, 3]) await t.appendJournal('inv_a', entry(i, T.SleepCompletionNotification, i));
      for (const i of [0, 1]) await t.appendJournal('inv_b', entry(i, T.InputCommand));
    });
    await tx((t) => t.deleteJournal('inv_a', 2));
    expect((await store().readJournal('inv_a')).map((e) => e.index)).toEqual([0, 1]);
    expect(await tx((t) => t.hasCompletion('inv_a', 2))).toBe(false);
    await tx((t) => t.deleteJournal('inv_a'));
    expect(await store().readJournal('inv_a')).toEqual([]);
    expect(await tx((t) => t.hasCompletion('inv_a', 0))).toBe(false);
    expect((await store().readJournal('inv_b')).map((e) => e.index)).toEqual([0, 1]);
  });
}

function state(store: () => PartitionStore, tx: Tx): void {
  const pairs = (rows: [Uint8Array, Uint8Array][]) => rows.map(([n, v]) => [hex(n), hex(v)]);

  it('binary names and values round-trip, empty and non-UTF-8 ones included', async () => {
    await tx(async (t) => {
      await t.setState('S', 'k', NON_UTF8, NON_UTF8);
      await t.setState('S', 'k', utf8('empty'), b());
      await t.setState('S', 'k', b(), utf8('empty name'));
    });
    const read = await tx(async (t) => [
      await t.getState('S', 'k', NON_UTF8),
      await t.getState('S', 'k', utf8('empty')),
      await t.getState('S', 'k', b()),
      await t.getState('S', 'k', utf8('missing')),
    ]);
    expect(read.map(hex)).toEqual([hex(NON_UTF8), '', hex(utf8('empty name')), undefined]);
    expect(read[1]).toBeInstanceOf(Uint8Array);
    const all = await store().getAllState('S', 'k');
    expect(all.every(([n, v]) => n instanceof Uint8Array && v instanceof Uint8Array)).toBe(true);
  });

  it('getAllState lists entries ordered by name as unsigned bytes', async () => {
    const names = [b(0xff), b(0x00), b(), b(0x00, 0x00), b(0x01), utf8('a'), b(0x80), utf8('B'), b(0x7f, 0xff)];
    await tx(async (t) => {
      for (const [i, n] of names.entries()) await t.setState('S', 'k', n, b(i));
    });
    const expected = ['', '00', '0000', '01', '42', '61', '7fff', '80', 'ff'];
    expect((await store().getAllState('S', 'k')).map(([n]) => hex(n))).toEqual(expected);
    expect((await tx((t) => t.getAllState('S', 'k'))).map(([n]) => hex(n))).toEqual(expected);
  });

  it('setState overwrites; clearState removes one entry; clearAllState clears one (service, key) only', async () => {
    await tx(async (t) => {
      for (const [svc, key] of [['S', 'k'], ['S', 'k2'], ['T', 'k'], ['Sk', ''], ['S', 'kk']] as const) {
        await t.setState(svc, key, utf8('a'), utf8(`${svc}/${key}/a`));
        await t.setState(svc, key, utf8('b'), utf8(`${svc}/${key}/b`));
      }
      await t.setState('S', 'k', utf8('a'), utf8('new'));
    });
    expect(pairs(await store().getAllState('S', 'k'))).toEqual([
      [hex(utf8('a')), hex(utf8('new'))],
      [hex(utf8('b')), hex(utf8('S/k/b'))],
    ]);
    await tx((t) => t.clearState('S', 'k', utf8('a')));
    expect(pairs(await store().getAllState('S', 'k'))).toEqual([[hex(utf8('b')), hex(utf8('S/k/b'))]]);
    await tx((t) => t.clearState('S', 'k', utf8('never set')));
    await tx((t) => t.clearAllState('S', 'k'));
    expect(await store().getAllState('S', 'k')).toEqual([]);
    expect(await tx((t) => t.getState('S', 'k', utf8('b')))).toBeUndefined();
    for (const [svc, key] of [['S', 'k2'], ['T', 'k'], ['Sk', ''], ['S', 'kk']] as const) {
      expect(pairs(await store().getAllState(svc, key))).toEqual([
        [hex(utf8('a')), hex(utf8(`${svc}/${key}/a`))],
        [hex(utf8('b')), hex(utf8(`${svc}/${key}/b`))],
      ]);
    }
  });
}

function queues(store: () => PartitionStore, tx: Tx): void {
  it('locks: set, read, overwrite and delete per (service, key)', async () => {
    await tx(async (t) => {
      await t.setLock('S', 'k', 'inv_1');
      await t.setLock('S', 'k2', 'inv_2');
      await t.setLock('T', 'k', 'inv_3');
    });
    expect(await tx(async (t) => [await t.getLock('S', 'k'), await t.getLock('S', 'k2'), await t.getLock('T', 'k')])).toEqual([
      'inv_1',
      'inv_2',
      'inv_3',
    ]);
    await tx((t) => t.setLock('S', 'k', 'inv_4'));
    expect(await tx((t) => t.getLock('S', 'k'))).toBe('inv_4');
    await tx((t) => t.deleteLock('S', 'k'));
    expect(await tx(async (t) => [await t.getLock('S', 'k'), await t.getLock('S', 'k2'), await t.getLock('X', 'y')])).toEqual([
      undefined,
      'inv_2',
      undefined,
    ]);
  });

  it('the inbox pops in sequence order per (service, key), then reads as empty', async () => {
    await tx(async (t) => {
      await t.pushInbox(P, 'S', 'k', 7, 'inv_7');
      await t.pushInbox(P, 'S', 'k2', 1, 'inv_k2');
      await t.pushInbox(P, 'S', 'k', 3, 'inv_3');
      await t.pushInbox(P, 'T', 'k', 2, 'inv_t');
      await t.pushInbox(P, 'S', 'k', 5, 'inv_5');
      await t.pushInbox(P, 'S', 'k', 10, 'inv_10');
    });
    expect(await tx((t) => t.popInbox('S', 'k'))).toBe('inv_3');
    const rest = await tx(async (t) => [await t.popInbox('S', 'k'), await t.popInbox('S', 'k'), await t.popInbox('S', 'k')]);
    expect(rest).toEqual(['inv_5', 'inv_7', 'inv_10']);
    expect(await tx((t) => t.popInbox('S', 'k'))).toBeUndefined();
    expect(await tx(async (t) => [await t.popInbox('S', 'k2'), await t.popInbox('T', 'k'), await t.popInbox('T', 'k')])).toEqual([
      'inv_k2',
      'inv_t',
      undefined,
    ]);
  });

  it('the outbox lists in sequence order per partition; deleteOutboxUpTo removes up to and including a seq', async () => {
    await tx(async (t) => {
      for (const seq of [3, 1, 5, 2, 4]) await t.putOutbox(P, seq, seq === 5 ? NON_UTF8 : b(seq));
      await t.putOutbox(Q, 1, b());
    });
    const list = async (p: number) => (await store().listOutbox(p)).map((r) => [r.seq, hex(r.payload)]);
    expect(await list(P)).toEqual([[1, '01'], [2, '02'], [3, '03'], [4, '04'], [5, hex(NON_UTF8)]]);
    expect((await store().listOutbox(P))[0]?.payload).toBeInstanceOf(Uint8Array);
    await tx((t) => t.deleteOutboxUpTo(P, 3));
    expect(await list(P)).toEqual([[4, '04'], [5, hex(NON_UTF8)]]);
    expect(await list(Q)).toEqual([[1, '']]);
    expect(await tx((t) => t.hasOutbox(P))).toBe(true);
    await tx((t) => t.deleteOutboxUpTo(P, 100));
    expect(await list(P)).toEqual([]);
    expect(await list(Q)).toEqual([[1, '']]);
    expect(await tx(async (t) => [await t.hasOutbox(P), await t.hasOutbox(Q)])).toEqual([false, true]);
  });
}

function timers(store: () => PartitionStore, tx: Tx): void {
  const timer = (key: string, fireAt: number, partition = P): TimerRecord => ({
    partition,
    key,
    fireAt,
    payload: { kind: 'sleep', id: `inv_${key}`, completionId: fireAt % 7 },
  });

  it('listTimers lists one partition by fire time; getTimer reads every payload kind back', async () => {
    const records: TimerRecord[] = [
      timer('late', 3_000_000_000_000),
      timer('early', 1_000),
      { partition: P, key: 'sched ✓', fireAt: 2_000, payload: { kind: 'scheduled-invoke', id: 'inv_s' } },
      { partition: P, key: 'cleanup', fireAt: 1_500, payload: { kind: 'cleanup', id: 'inv_c' } },
      timer('other partition', 1, Q),
    ];
    await tx(async (t) => {
      for (const r of records) await t.putTimer(r);
    });
    expect((await store().listTimers(P)).map((r) => r.key)).toEqual(['early', 'cleanup', 'sched ✓', 'late']);
    expect(await store().listTimers(Q)).toEqual([records[4]]);
    for (const r of records) expect(await tx((t) => t.getTimer(r.partition, r.key))).toEqual(r);
    expect(await tx((t) => t.getTimer(Q, 'early'))).toBeUndefined();
  });

  it('putTimer on an existing key replaces it; deleteTimer removes one timer', async () => {
    await tx(async (t) => {
      await t.putTimer(timer('a', 100));
      await t.putTimer(timer('b', 200));
      await t.putTimer(timer('a', 300));
    });
    expect((await store().listTimers(P)).map((r) => [r.key, r.fireAt])).toEqual([
      ['b', 200],
      ['a', 300],
    ]);
    await tx((t) => t.deleteTimer(P, 'b'));
    expect(await store().listTimers(P)).toEqual([timer('a', 300)]);
    await tx((t) => t.deleteTimer(P, 'never'));
    expect(await tx((t) => t.getTimer(P, 'b'))).toBeUndefined();
  });
}

function indexes(tx: Tx): void {
  it('idempotency entries are keyed by service, key, handler and idempotency key together', async () => {
    const keys = [
      ['S', 'k', 'h', 'ik'],
      ['S', 'k', 'h', 'ik2'],
      ['S', 'k', 'h2', 'ik'],
      ['S', 'k2', 'h', 'ik'],
      ['S2', 'k', 'h', 'ik'],
      ['S', '', 'h', 'ik'],
    ] as const;
    await tx(async (t) => {
      for (const [i, [s, k, h, ik]] of keys.entries()) await t.putIdempotency(s, k, h, ik, `inv_${i}`);
    });
    const all = () => tx(async (t) => Promise.all(keys.map(([s, k, h, ik]) => t.getIdempotency(s, k, h, ik))));
    expect(await all()).toEqual(['inv_0', 'inv_1', 'inv_2', 'inv_3', 'inv_4', 'inv_5']);
    await tx((t) => t.deleteIdempotency('S', 'k', 'h', 'ik'));
    expect(await all()).toEqual([undefined, 'inv_1', 'inv_2', 'inv_3', 'inv_4', 'inv_5']);
    await tx((t) => t.putIdempotency('S', 'k', 'h', 'ik', 'inv_again'));
    expect((await all())[0]).toBe('inv_again');
    await tx((t) => t.deleteIdempotency('X', 'y', 'z', 'w'));
  });

  it('dedup keeps the last sequence per (partition, producer)', async () => {
    expect(await tx((t) => t.getDedup(P, 'ingress-1'))).toBeUndefined();
    await tx(async (t) => {
      await t.putDedup(P, 'ingress-1', 5);
      await t.putDedup(P, 'ingress-2', 0);
      await t.putDedup(Q, 'ingress-1', 2 ** 40);
    });
    await tx((t) => t.putDedup(P, 'ingress-1', 6));
    expect(
      await tx(async (t) => [await t.getDedup(P, 'ingress-1'), await t.getDedup(P, 'ingress-2'), await t.getDedup(Q, 'ingress-1')]),
    ).toEqual([6, 0, 2 ** 40]);
  });

  it('durable promises round-trip pending and completed; deleteAllPromises clears one (service, key)', async () => {
    const pending = { result: undefined, waiters: [{ id: 'inv_w1', completionId: 2 }, { id: 'inv_w2', completionId: 0 }] };
    const done = { result: { ok: true as const, value: NON_UTF8 }, waiters: [] };
    const failed = { result: { ok: false as const, code: 500, message: 'no' }, waiters: [] };
    const empty = { result: { ok: true as const, value: b() }, waiters: [] };
    await tx(async (t) => {
      await t.putPromise('Wf', 'k', 'pending', pending);
      await t.putPromise('Wf', 'k', 'done', done);
      await t.putPromise('Wf', 'k', 'failed', failed);
      await t.putPromise('Wf', 'k', 'empty', empty);
      await t.putPromise('Wf', 'k2', 'done', done);
      await t.putPromise('Wf2', 'k', 'done', done);
    });
    const read = (s: string, k: string, n: string) => tx((t) => t.getPromise(s, k, n));
    expect(plain(await read('Wf', 'k', 'pending'))).toEqual(plain(pending));
    expect((await read('Wf', 'k', 'pending'))?.result).toBeUndefined();
    expect(plain(await read('Wf', 'k', 'done'))).toEqual(plain(done));
    expect(plain(await read('Wf', 'k', 'failed'))).toEqual(plain(failed));
    expect(plain(await read('Wf', 'k', 'empty'))).toEqual(plain(empty));
    const value = (await read('Wf', 'k', 'empty'))?.result;
    expect(value?.ok && value.value).toBeInstanceOf(Uint8Array);
    expect(await read('Wf', 'k', 'unknown')).toBeUndefined();

    await tx((t) => t.putPromise('Wf', 'k', 'pending', done));
    expect(plain(await read('Wf', 'k', 'pending'))).toEqual(plain(done));

    await tx((t) => t.deleteAllPromises('Wf', 'k'));
    for (const n of ['pending', 'done', 'failed', 'empty']) expect(await read('Wf', 'k', n)).toBeUndefined();
    expect(plain(await read('Wf', 'k2', 'done'))).toEqual(plain(done));
    expect(plain(await read('Wf2', 'k', 'done'))).toEqual(plain(done));
  });
}

function schedules(store: () => PartitionStore, tx: Tx): void {
  const running = scheduleRecords['schedule-running']!;
  const paused = scheduleRecords['schedule-paused-interval']!;

  it('a schedule reads back exactly, through a transaction and the reader, in its partition only', async () => {
    await tx(async (t) => {
      await t.putSchedule(P, running);
      await t.putSchedule(P, paused);
    });
    expect(await tx((t) => t.getSchedule(P, running.spec.id))).toStrictEqual(running);
    expect(await store().getSchedule(P, paused.spec.id)).toStrictEqual(paused);
    expect(await store().getSchedule(Q, running.spec.id)).toBeUndefined();
    expect((await store().listSchedules(P)).map((r) => r.spec.id)).toEqual(['nightly', 'poll']);
    expect(await store().listSchedules(Q)).toEqual([]);
  });

  it('a schedule is overwritten by id and deleted by id', async () => {
    await tx((t) => t.putSchedule(P, running));
    await tx((t) => t.putSchedule(P, { ...running, paused: true, nextTick: undefined, running: [] }));
    expect(await store().getSchedule(P, 'nightly')).toStrictEqual({ ...running, paused: true, nextTick: undefined, running: [] });
    await tx((t) => t.deleteSchedule(P, 'nightly'));
    expect(await store().getSchedule(P, 'nightly')).toBeUndefined();
    await tx((t) => t.deleteSchedule(P, 'nightly'));
  });
}

function flow(store: () => PartitionStore, tx: Tx): void {
  const all = flowRules['flow-rule-all']!;
  const mailer = flowRules['flow-rule-concurrency']!;
  const busy = flowLimiters['flow-limiter-busy']!;

  it('a flow rule reads back exactly, through a transaction and the reader, in its partition only', async () => {
    await tx(async (t) => {
      await t.putFlowRule(P, all);
      await t.putFlowRule(P, mailer);
    });
    expect(await tx((t) => t.getFlowRule(P, all.id))).toStrictEqual(all);
    expect(await store().getFlowRule(P, mailer.id)).toStrictEqual(mailer);
    expect(await store().getFlowRule(Q, all.id)).toBeUndefined();
    expect((await store().listFlowRules(P)).map((r) => r.id)).toEqual(['Mailer', 'Search/index']);
    await tx((t) => t.deleteFlowRule(P, 'Mailer'));
    expect(await store().listFlowRules(P)).toStrictEqual([all]);
    expect(await store().listFlowRules(Q)).toEqual([]);
  });

  it('limiters are kept per rule and limit key, overwritten and deleted by both', async () => {
    const other = { ...busy, limitKey: '' };
    await tx(async (t) => {
      await t.putFlowLimiter(P, busy);
      await t.putFlowLimiter(P, other);
      await t.putFlowLimiter(P, { ...busy, rule: 'Mailer' });
    });
    expect(await tx((t) => t.getFlowLimiter(P, busy.rule, busy.limitKey))).toStrictEqual(busy);
    expect((await store().listFlowLimiters(P, busy.rule)).map((l) => l.limitKey)).toEqual(['', 'tenant-7']);
    expect(await tx((t) => t.listFlowLimiters(Q, busy.rule))).toEqual([]);
    await tx((t) => t.putFlowLimiter(P, { ...busy, running: [], tokens: 3 }));
    expect(await tx((t) => t.getFlowLimiter(P, busy.rule, busy.limitKey))).toStrictEqual({ ...busy, running: [], tokens: 3 });
    await tx((t) => t.deleteFlowLimiter(P, busy.rule, busy.limitKey));
    expect(await tx((t) => t.getFlowLimiter(P, busy.rule, busy.limitKey))).toBeUndefined();
    expect((await store().listFlowLimiters(P, busy.rule)).map((l) => l.limitKey)).toEqual(['']);
  });
}
