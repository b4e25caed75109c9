import { create, toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCommand } from '../../src/log/index.ts';
import { MessageType, pb } from '../../src/protocol/index.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import { SqlitePartitionStore, openSqlite, type SqliteDb } from '../../src/store/index.ts';
import { formatInvocationId, newInvocationId } from '../../src/types/index.ts';
import { Worker, apply, type Action, type Command, type ResolvedTarget } from '../../src/worker/index.ts';

// Messages between partitions that one commit loop commits for (a call, its response) are
// applied in the batch that produced them. What the partitions end up holding must be what the
// outbox path (outbox row → shuffle → the target's log, deduplicated) gives.

const partitioner = new Partitioner(4);
const greeter: ResolvedTarget = {
  service: 'Greeter', handler: 'greet', key: undefined, serviceType: 'SERVICE', handlerType: undefined, deploymentId: 'dp_1', retentionMs: 60_000,
};
const counterAdd: ResolvedTarget = {
  service: 'Counter', handler: 'add', key: 'bob', serviceType: 'VIRTUAL_OBJECT', handlerType: 'EXCLUSIVE', deploymentId: 'dp_1', retentionMs: 60_000,
};

/** A parent invocation id whose partition differs from the callee's (Counter/bob). */
function parentId(): string {
  const childPartition = partitioner.partitionOfInvocation(formatInvocationId(newInvocationId('bob')));
  for (;;) {
    const id = formatInvocationId(newInvocationId(undefined));
    if (partitioner.partitionOfInvocation(id) !== childPartition) return id;
  }
}

/** The commands the parent's attempt sends: it is invoked, then calls Counter/bob/add. */
function parentCommands(id: string): Command[] {
  const inputEntry = toBinary(pb.InputCommandMessageSchema, create(pb.InputCommandMessageSchema, { value: { content: Buffer.from('"x"') } }));
  const call = toBinary(
    pb.CallCommandMessageSchema,
    create(pb.CallCommandMessageSchema, {
      serviceName: 'Counter', handlerName: 'add', key: 'bob', parameter: Buffer.from('1'), invocationIdNotificationIdx: 1, resultCompletionId: 2,
    }),
  );
  return [
    {
      kind: 'invoke',
      invocation: { id, target: greeter, inputEntry, idempotencyKey: undefined, executeAt: undefined, createdAt: 1000, sink: undefined, sinkMode: 'result' },
    },
    { kind: 'journal-command', id, commandIndex: 1, type: MessageType.CallCommand, body: call, now: 2000, callee: counterAdd },
  ];
}

/** The commands the child's attempt sends: its output, then its end. */
function childCommands(id: string): Command[] {
  const out = toBinary(
    pb.OutputCommandMessageSchema,
    create(pb.OutputCommandMessageSchema, { result: { case: 'value', value: { content: Buffer.from('5') } } }),
  );
  return [
    { kind: 'journal-command', id, commandIndex: 1, type: MessageType.OutputCommand, body: out, now: 3000 },
    { kind: 'end', id, now: 3000 },
  ];
}

/** What the two invocations hold, with the partition-local details (LSNs, outbox) left out. */
async function snapshot(store: SqlitePartitionStore, ids: string[]): Promise<unknown> {
  const out = [];
  for (const id of ids) {
    const status = await store.getInvocation(id);
    const journal = (await store.readJournal(id)).map((e) => ({ ...e, body: Buffer.from(e.body).toString('hex') }));
    out.push({ status, journal });
  }
  return out;
}

describe('messages between partitions of one commit loop', () => {
  const dbs: SqliteDb[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
  });
  function openStore(): SqlitePartitionStore {
    const db = openSqlite(':memory:');
    dbs.push(db);
    return new SqlitePartitionStore(db);
  }

  it('a call and its response are applied in the batch that sent them, leaving what the outbox path leaves', async () => {
    const parent = parentId();
    const pp = partitioner.partitionOfInvocation(parent);

    // In-batch: the commit loop, one submit per command as an attempt would send them.
    const local = openStore();
    const actions: Action[] = [];
    const worker = new Worker(local, partitioner, (a) => actions.push(...a), pino({ level: 'silent' }));
    for (const c of parentCommands(parent)) await worker.submit(pp, c);
    const childInvoke = actions.find((a) => a.kind === 'invoke' && a.id !== parent);
    if (childInvoke?.kind !== 'invoke') throw new Error('the child was not started in the batch of the call');
    const child = childInvoke.id;
    const pc = childInvoke.partition;
    expect(pc).not.toBe(pp);
    actions.length = 0;
    for (const c of childCommands(child)) await worker.submit(pc, c);
    // The response reached the parent in the batch of the child's end: its notification is out.
    expect(actions).toContainEqual(expect.objectContaining({ kind: 'notify', id: parent, type: MessageType.CallCompletionNotification }));
    expect(actions.filter((a) => a.kind === 'shuffle')).toEqual([]);
    await worker.close();
    expect(await local.listOutbox(pp)).toEqual([]);
    expect(await local.listOutbox(pc)).toEqual([]);
    // Rule 1: both messages are in their target's log, in order, and applied.
    const childLog = (await local.readLog(pc, 0)).map((r) => decodeCommand(r.payload).command.kind);
    expect(childLog).toEqual(['invoke', 'journal-command', 'end']);
    const parentLog = (await local.readLog(pp, 0)).map((r) => decodeCommand(r.payload).command.kind);
    expect(parentLog).toEqual(['invoke', 'journal-command', 'call-response']);
    expect((await local.getFsm(pc)).appliedLsn).toBe(3);
    expect((await local.getFsm(pp)).appliedLsn).toBe(3);

    // The outbox path: apply alone, each outbox message delivered to its target by hand.
    const outbox = openStore();
    const deliver = async (produced: Action[]): Promise<void> => {
      for (const a of produced) {
        if (a.kind !== 'shuffle') continue;
        const p = a.message.partition;
        await deliver(await outbox.transaction((tx) => apply(tx, { partition: p, partitioner }, a.message.command)));
      }
    };
    const run = async (p: number, c: Command): Promise<void> => deliver(await outbox.transaction((tx) => apply(tx, { partition: p, partitioner }, c)));
    for (const c of parentCommands(parent)) await run(pp, c);
    for (const c of childCommands(child)) await run(pc, c);

    expect(await snapshot(local, [parent, child])).toEqual(await snapshot(outbox, [parent, child]));
  });

  it('a message takes the outbox while its source partition still has one waiting there, so it cannot overtake it', async () => {
    const parent = parentId();
    const pp = partitioner.partitionOfInvocation(parent);
    const store = openStore();
    const actions: Action[] = [];
    const worker = new Worker(store, partitioner, (a) => actions.push(...a), pino({ level: 'silent' }));
    const [invoke, call] = parentCommands(parent);
    await worker.submit(pp, invoke!);
    // A message from an earlier run, not yet delivered.
    await store.transaction(async (tx) => {
      const fsm = await tx.getFsm(pp);
      fsm.outboxSeq += 1;
      await tx.putFsm(pp, fsm);
      await tx.putOutbox(pp, fsm.outboxSeq, new Uint8Array([1]));
    });
    await worker.submit(pp, call!);
    await worker.close();
    const shuffled = actions.filter((a) => a.kind === 'shuffle');
    expect(shuffled).toHaveLength(1);
    expect(shuffled[0]).toMatchObject({ partition: pp, message: { command: { kind: 'invoke' } } });
    expect((await store.listOutbox(pp)).length).toBe(2);
    expect(actions.filter((a) => a.kind === 'invoke' && a.id !== parent)).toEqual([]);
  });
});
