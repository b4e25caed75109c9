import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { beforeEach, describe, expect, it } from 'vitest';
import { MessageType, pb } from '../../src/protocol/index.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import { SqlitePartitionStore, openSqlite } from '../../src/store/index.ts';
import { formatInvocationId, newInvocationId, parseInvocationId } from '../../src/types/index.ts';
import { apply, type Action, type Command, type NewInvocation, type ResolvedTarget } from '../../src/worker/index.ts';

// The state machine, command by command, on an in-memory SQLite store: no files, no network.

const P = 0;
const partitioner = new Partitioner(1);
let store: SqlitePartitionStore;

beforeEach(() => {
  store = new SqlitePartitionStore(openSqlite(':memory:'));
});

async function run(command: Command): Promise<Action[]> {
  return store.transaction((tx) => apply(tx, { partition: P, partitioner }, command));
}

const counterAdd: ResolvedTarget = {
  service: 'Counter', handler: 'add', key: 'alice', serviceType: 'VIRTUAL_OBJECT', handlerType: 'EXCLUSIVE', deploymentId: 'dp_1', retentionMs: 60_000,
};
const counterGet: ResolvedTarget = { ...counterAdd, handler: 'get', handlerType: 'SHARED' };
const greeter: ResolvedTarget = {
  service: 'Greeter', handler: 'greet', key: undefined, serviceType: 'SERVICE', handlerType: undefined, deploymentId: 'dp_1', retentionMs: 60_000,
};

function input(value: string): Uint8Array {
  return toBinary(pb.InputCommandMessageSchema, create(pb.InputCommandMessageSchema, { value: { content: Buffer.from(value) } }));
}

let requestIds = 0;
function invocation(target: ResolvedTarget, extra: Partial<NewInvocation> = {}): NewInvocation {
  return {
    id: formatInvocationId(newInvocationId(target.key)),
    target,
    inputEntry: input('"x"'),
    idempotencyKey: undefined,
    executeAt: undefined,
    createdAt: 1000,
    sink: { kind: 'ingress', node: 'n', requestId: ++requestIds },
    sinkMode: 'result',
    ...extra,
  };
}

function journalCommand(id: string, commandIndex: number, type: number, body: Uint8Array): Command {
  return { kind: 'journal-command', id, commandIndex, type, body, now: 2000 };
}

function output(id: string, commandIndex: number, value: string): Command {
  return journalCommand(
    id,
    commandIndex,
    MessageType.OutputCommand,
    toBinary(pb.OutputCommandMessageSchema, create(pb.OutputCommandMessageSchema, { result: { case: 'value', value: { content: Buffer.from(value) } } })),
  );
}

describe('partition state machine', () => {
  it('starts an invocation of a service right away with its input journaled', async () => {
    const inv = invocation(greeter);
    const actions = await run({ kind: 'invoke', invocation: inv });
    expect(actions).toEqual([{ kind: 'invoke', id: inv.id, partition: P }]);
    const status = await store.getInvocation(inv.id);
    expect(status?.phase).toBe('invoked');
    const journal = await store.readJournal(inv.id);
    expect(journal.map((e) => e.type)).toEqual([MessageType.InputCommand]);
  });

  it('runs exclusive handlers on one key one at a time, in arrival order', async () => {
    const a = invocation(counterAdd);
    const b = invocation(counterAdd);
    const c = invocation(counterAdd);
    await run({ kind: 'invoke', invocation: a });
    expect(await run({ kind: 'invoke', invocation: b })).toEqual([]);
    expect(await run({ kind: 'invoke', invocation: c })).toEqual([]);
    expect((await store.getInvocation(b.id))?.phase).toBe('inboxed');

    await run(output(a.id, 1, '1'));
    const actions = await run({ kind: 'end', id: a.id, now: 3000 });
    expect(actions.filter((x) => x.kind === 'invoke')).toEqual([{ kind: 'invoke', id: b.id, partition: P }]);
    expect((await store.getInvocation(c.id))?.phase).toBe('inboxed');
  });

  it('runs shared handlers while the key is locked', async () => {
    await run({ kind: 'invoke', invocation: invocation(counterAdd) });
    const g = invocation(counterGet);
    expect(await run({ kind: 'invoke', invocation: g })).toEqual([{ kind: 'invoke', id: g.id, partition: P }]);
  });

  it('answers every waiter with the output when the invocation ends', async () => {
    const inv = invocation(greeter, { idempotencyKey: 'k1' });
    await run({ kind: 'invoke', invocation: inv });
    const second = { ...invocation(greeter, { idempotencyKey: 'k1' }), id: 'inv_other' };
    await run({ kind: 'invoke', invocation: second });
    await run(output(inv.id, 1, '"hi"'));
    const actions = await run({ kind: 'end', id: inv.id, now: 3000 });
    const answers = actions.filter((x) => x.kind === 'answer');
    expect(answers).toHaveLength(2);
    for (const a of answers) {
      if (a.kind !== 'answer' || a.answer.kind !== 'result' || !a.answer.result.ok) throw new Error('expected a result');
      expect(Buffer.from(a.answer.result.value).toString()).toBe('"hi"');
      expect(a.answer.id).toBe(inv.id);
    }
    // A third request with the same key after completion gets the stored answer at once.
    const third = await run({ kind: 'invoke', invocation: invocation(greeter, { idempotencyKey: 'k1' }) });
    expect(third).toHaveLength(1);
    expect(third[0]).toMatchObject({ kind: 'answer', answer: { kind: 'result', id: inv.id } });
  });

  it('acknowledges a send once and reports a repeated send as previously accepted', async () => {
    const first = invocation(greeter, { idempotencyKey: 's', sinkMode: 'accepted' });
    const a1 = await run({ kind: 'invoke', invocation: first });
    expect(a1).toContainEqual(expect.objectContaining({ kind: 'answer', answer: { kind: 'accepted', id: first.id, previously: false } }));
    const a2 = await run({ kind: 'invoke', invocation: { ...invocation(greeter, { idempotencyKey: 's', sinkMode: 'accepted' }), id: first.id } });
    expect(a2).toEqual([expect.objectContaining({ kind: 'answer', answer: { kind: 'accepted', id: first.id, previously: true } })]);
  });

  it('writes state on SetState and serves it to a lazy GetState', async () => {
    const inv = invocation(counterAdd);
    await run({ kind: 'invoke', invocation: inv });
    const set = toBinary(pb.SetStateCommandMessageSchema, create(pb.SetStateCommandMessageSchema, { key: Buffer.from('total'), value: { content: Buffer.from('7') } }));
    await run(journalCommand(inv.id, 1, MessageType.SetStateCommand, set));
    const get = toBinary(pb.GetLazyStateCommandMessageSchema, create(pb.GetLazyStateCommandMessageSchema, { key: Buffer.from('total'), resultCompletionId: 1 }));
    const actions = await run(journalCommand(inv.id, 2, MessageType.GetLazyStateCommand, get));
    expect(actions).toHaveLength(1);
    const notify = actions[0]!;
    if (notify.kind !== 'notify') throw new Error('expected notify');
    expect(notify.index).toBe(3);
    const n = fromBinary(pb.GetLazyStateCompletionNotificationMessageSchema, notify.body);
    expect(n.result.case).toBe('value');
    expect(Buffer.from((n.result.value as { content: Uint8Array }).content).toString()).toBe('7');
  });

  it('ignores a command whose index was already journaled (a retried append)', async () => {
    const inv = invocation(counterAdd);
    await run({ kind: 'invoke', invocation: inv });
    const set = toBinary(pb.SetStateCommandMessageSchema, create(pb.SetStateCommandMessageSchema, { key: Buffer.from('a'), value: { content: Buffer.from('1') } }));
    await run(journalCommand(inv.id, 1, MessageType.SetStateCommand, set));
    await run(journalCommand(inv.id, 1, MessageType.SetStateCommand, set));
    expect((await store.readJournal(inv.id)).length).toBe(2);
  });

  it('turns a sleep into a timer and wakes the suspended invocation when it fires', async () => {
    const inv = invocation(greeter);
    await run({ kind: 'invoke', invocation: inv });
    const sleep = toBinary(pb.SleepCommandMessageSchema, create(pb.SleepCommandMessageSchema, { wakeUpTime: 5000n, resultCompletionId: 1 }));
    const actions = await run(journalCommand(inv.id, 1, MessageType.SleepCommand, sleep));
    expect(actions).toEqual([{ kind: 'timer', partition: P, key: `sleep:${inv.id}:1`, fireAt: 5000 }]);
    await run({ kind: 'suspend', id: inv.id, completions: [1], signals: [], namedSignals: [] });
    expect((await store.getInvocation(inv.id))?.phase).toBe('suspended');
    const fired = await run({ kind: 'timer-fired', timerKey: `sleep:${inv.id}:1`, now: 5001 });
    expect(fired).toEqual([{ kind: 'invoke', id: inv.id, partition: P }]);
    expect((await store.readJournal(inv.id)).map((e) => e.type)).toEqual([
      MessageType.InputCommand, MessageType.SleepCommand, MessageType.SleepCompletionNotification,
    ]);
    // Firing again changes nothing.
    expect(await run({ kind: 'timer-fired', timerKey: `sleep:${inv.id}:1`, now: 5002 })).toEqual([]);
  });

  it('re-invokes at once a suspension whose completion is already journaled', async () => {
    const inv = invocation(greeter);
    await run({ kind: 'invoke', invocation: inv });
    await run({ kind: 'run-completion', id: inv.id, completionId: 1, result: { ok: true, value: Buffer.from('1') } });
    expect(await run({ kind: 'suspend', id: inv.id, completions: [1], signals: [], namedSignals: [] })).toEqual([
      { kind: 'invoke', id: inv.id, partition: P },
    ]);
  });

  it('journals a run completion once however often it is proposed', async () => {
    const inv = invocation(greeter);
    await run({ kind: 'invoke', invocation: inv });
    const r = { kind: 'run-completion', id: inv.id, completionId: 1, result: { ok: true, value: Buffer.from('1') } } as const;
    expect(await run(r)).toHaveLength(1);
    expect(await run(r)).toEqual([]);
  });

  it('sends a call through the outbox and applies its response once', async () => {
    const inv = invocation(greeter);
    await run({ kind: 'invoke', invocation: inv });
    const call = toBinary(pb.CallCommandMessageSchema, create(pb.CallCommandMessageSchema, {
      serviceName: 'Counter', handlerName: 'add', key: 'bob', parameter: Buffer.from('1'), invocationIdNotificationIdx: 1, resultCompletionId: 2,
    }));
    const actions = await run({ ...journalCommand(inv.id, 1, MessageType.CallCommand, call), callee: { ...counterAdd, key: 'bob' } } as Command);
    const shuffle = actions.find((a) => a.kind === 'shuffle');
    const notify = actions.find((a) => a.kind === 'notify');
    expect(shuffle).toBeDefined();
    expect(notify).toMatchObject({ type: MessageType.CallInvocationIdCompletionNotification });
    if (shuffle?.kind !== 'shuffle' || shuffle.message.command.kind !== 'invoke') throw new Error('expected an invoke in the outbox');
    expect(shuffle.message.command.invocation.sink).toEqual({ kind: 'invocation', id: inv.id, partition: P, completionId: 2 });

    const response: Command = { kind: 'call-response', id: inv.id, completionId: 2, result: { ok: true, value: Buffer.from('5') }, dedup: { producer: 'outbox-0', seq: 9 } };
    expect(await run(response)).toHaveLength(1);
    expect(await run(response)).toEqual([]);
  });

  it('holds a delayed invocation until its timer fires', async () => {
    const inv = invocation(greeter, { executeAt: 61_000 });
    const actions = await run({ kind: 'invoke', invocation: inv });
    expect(actions).toEqual([{ kind: 'timer', partition: P, key: `inv:${inv.id}`, fireAt: 61_000 }]);
    expect((await store.getInvocation(inv.id))?.phase).toBe('scheduled');
    expect(await run({ kind: 'timer-fired', timerKey: `inv:${inv.id}`, now: 61_001 })).toEqual([{ kind: 'invoke', id: inv.id, partition: P }]);
  });

  it('answers output requests: not found, not ready, then the result; and purges after retention', async () => {
    const sink = { kind: 'ingress', node: 'n', requestId: 99 } as const;
    expect(await run({ kind: 'attach', id: 'inv_nope', mode: 'output', sink })).toEqual([
      { kind: 'answer', sink, answer: { kind: 'not-found', id: 'inv_nope' } },
    ]);
    const inv = invocation(greeter, { idempotencyKey: 'r' });
    await run({ kind: 'invoke', invocation: inv });
    expect(await run({ kind: 'attach', id: inv.id, mode: 'output', sink })).toEqual([
      { kind: 'answer', sink, answer: { kind: 'not-ready', id: inv.id } },
    ]);
    await run(output(inv.id, 1, '"done"'));
    const end = await run({ kind: 'end', id: inv.id, now: 3000 });
    expect(end).toContainEqual({ kind: 'timer', partition: P, key: `cleanup:${inv.id}`, fireAt: 63_000 });
    const out = await run({ kind: 'attach', id: inv.id, mode: 'output', sink });
    expect(out[0]).toMatchObject({ answer: { kind: 'result', id: inv.id } });
    await run({ kind: 'timer-fired', timerKey: `cleanup:${inv.id}`, now: 63_000 });
    expect(await store.getInvocation(inv.id)).toBeUndefined();
    // The idempotency key is free again: a new request creates a new invocation.
    const again = await run({ kind: 'invoke', invocation: invocation(greeter, { idempotencyKey: 'r' }) });
    expect(again[0]).toMatchObject({ kind: 'invoke' });
  });
  it('restart-as-new creates the new invocation in the apply that answers with its id', async () => {
    const inv = invocation(greeter);
    await run({ kind: 'invoke', invocation: inv });
    await run(output(inv.id, 1, '"done"'));
    await run({ kind: 'end', id: inv.id, now: 3000 });
    // The admin API picks the new id on the old one's partition key (node/invocation-routes.ts).
    const newId = formatInvocationId({ ...newInvocationId(), partitionKey: parseInvocationId(inv.id).partitionKey });
    const actions = await run({ kind: 'op', op: 'restart-as-new', id: inv.id, now: 4000, newId, sink: { kind: 'ingress', node: 'n', requestId: ++requestIds } });
    expect(actions).toContainEqual({ kind: 'invoke', id: newId, partition: P });
    expect(actions).toContainEqual(expect.objectContaining({ kind: 'answer', answer: expect.objectContaining({ kind: 'op', outcome: 'done', newId }) }));
    // A client that attaches to the new id right after the answer finds it: no outbox hop first.
    expect((await store.getInvocation(newId))?.phase).toBe('invoked');
    expect(await store.listOutbox(P)).toEqual([]);
  });
});
