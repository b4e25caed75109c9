// Trace context: W3C traceparent parsing, the derived span of an invocation, the call's
// traceparent surviving the log record, and apply writing it into the callee's input.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { formatTraceparent, invocationTraceContext, parseTraceparent } from '../../src/common/tracing.ts';
import { decodeCommand, encodeCommand } from '../../src/log/index.ts';
import { MessageType, pb } from '../../src/protocol/index.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import { SqlitePartitionStore, openSqlite } from '../../src/store/index.ts';
import { formatInvocationId, newInvocationId } from '../../src/types/index.ts';
import { apply, type Command, type ResolvedTarget } from '../../src/worker/index.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('traceparent', () => {
  it('parses a W3C traceparent and writes it back the same', () => {
    const value = `00-${TRACE}-${SPAN}-01`;
    expect(parseTraceparent(value)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    expect(formatTraceparent(parseTraceparent(value)!)).toBe(value);
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false);
  });

  it('ignores malformed or invalid trace contexts instead of failing the invocation', () => {
    for (const bad of [
      undefined,
      '',
      'garbage',
      `00-${TRACE}-${SPAN}`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('the span of an invocation', () => {
  it('has an id derived from the invocation id, under the traceparent of its input', () => {
    const id = formatInvocationId(newInvocationId(undefined));
    const a = invocationTraceContext(id, `00-${TRACE}-${SPAN}-01`);
    const b = invocationTraceContext(id, `00-${TRACE}-${SPAN}-01`);
    expect(a).toEqual(b);
    expect(a.self.traceId).toBe(TRACE);
    expect(a.self.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(a.parent).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    const other = invocationTraceContext(formatInvocationId(newInvocationId(undefined)), `00-${TRACE}-${SPAN}-01`);
    expect(other.self.spanId).not.toBe(a.self.spanId);
  });

  it('starts a trace derived from the invocation id when nobody traced it before', () => {
    const id = formatInvocationId(newInvocationId(undefined));
    const ctx = invocationTraceContext(id, undefined);
    expect(ctx.parent).toBeUndefined();
    expect(ctx.self.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(invocationTraceContext(id, 'not a traceparent').self).toEqual(ctx.self);
  });
});

const counterAdd: ResolvedTarget = {
  service: 'Counter', handler: 'add', key: 'bob', serviceType: 'VIRTUAL_OBJECT', handlerType: 'EXCLUSIVE', deploymentId: 'dp_1', retentionMs: 60_000,
};
const greeter: ResolvedTarget = {
  service: 'Greeter', handler: 'greet', key: undefined, serviceType: 'SERVICE', handlerType: undefined, deploymentId: 'dp_1', retentionMs: 60_000,
};

function callCommand(id: string, traceparent: string | undefined): Command {
  const body = toBinary(pb.CallCommandMessageSchema, create(pb.CallCommandMessageSchema, {
    serviceName: 'Counter', handlerName: 'add', key: 'bob', parameter: Buffer.from('1'),
    headers: [{ key: 'x-app', value: 'kept' }, { key: 'traceparent', value: `00-${TRACE}-${SPAN}-01` }],
    invocationIdNotificationIdx: 1, resultCompletionId: 2,
  }));
  return { kind: 'journal-command', id, commandIndex: 1, type: MessageType.CallCommand, body, now: 2000, callee: counterAdd, ...(traceparent ? { traceparent } : {}) };
}

describe('a traced call', () => {
  it('keeps its traceparent through the log record', () => {
    const command = callCommand('inv_x', `00-${TRACE}-aaaaaaaaaaaaaaaa-01`);
    expect(decodeCommand(encodeCommand(command)).command).toEqual(command);
    const untraced = callCommand('inv_x', undefined);
    expect(decodeCommand(encodeCommand(untraced)).command).toEqual(untraced);
  });

  it("puts the call's traceparent in the callee's input headers, replacing the handler's own", async () => {
    const store = new SqlitePartitionStore(openSqlite(':memory:'));
    const partitioner = new Partitioner(1);
    const run = (c: Command) => store.transaction((tx) => apply(tx, { partition: 0, partitioner }, c));
    const id = formatInvocationId(newInvocationId(undefined));
    const inputEntry = toBinary(pb.InputCommandMessageSchema, create(pb.InputCommandMessageSchema, {}));
    await run({ kind: 'invoke', invocation: { id, target: greeter, inputEntry, idempotencyKey: undefined, executeAt: undefined, createdAt: 1000, sink: undefined, sinkMode: 'result' } });

    const traceparent = `00-${TRACE}-aaaaaaaaaaaaaaaa-01`;
    const actions = await run(callCommand(id, traceparent));
    const shuffle = actions.find((a) => a.kind === 'shuffle');
    if (shuffle?.kind !== 'shuffle' || shuffle.message.command.kind !== 'invoke') throw new Error('expected an invoke in the outbox');
    const headers = fromBinary(pb.InputCommandMessageSchema, shuffle.message.command.invocation.inputEntry).headers.map((h) => [h.key, h.value]);
    expect(headers).toEqual([['x-app', 'kept'], ['traceparent', traceparent]]);
  });
});
