/**
 * The bytes of flow control: `flow` commands (LogEntry field 15) and the flow rule and limiter
 * records the store keeps (messages FlowRule and FlowLimiter of proto/endure/records.proto).
 * Rules and limiters go through the generated message types; the command's envelope is written
 * field by field like the other commands.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import type { FlowLimiter, FlowRule, FlowWaiter } from '../flow/model.ts';
import * as gen from '../protocol/generated/endure/records_pb.ts';
import type { Dedup, FlowCommand, FlowOp, IngressSink } from '../types/index.ts';
import { readRecord, writeRecord } from './format.ts';
import { EnumCodec, I64, LEN, VARINT, putDedup, putIngressSink, readDedup, readIngressSink, skip, tag } from './wire.ts';

const OPS = new EnumCodec<FlowOp>('flow op', ['put-rule', 'delete-rule', 'acquire', 'release', 'grant', 'debounced']);

/** Writes the fields of a FlowCommand message (inside its LogEntry field). */
export function putFlowCommand(w: BinaryWriter, c: FlowCommand): void {
  w.uint32(tag(1, VARINT)).uint32(OPS.encode(c.op));
  w.uint32(tag(2, LEN)).string(c.rule);
  w.uint32(tag(3, I64)).double(c.now);
  if (c.limitKey !== undefined) w.uint32(tag(4, LEN)).string(c.limitKey);
  if (c.spec !== undefined) w.uint32(tag(5, LEN)).bytes(toBinary(gen.FlowRuleSchema, ruleToMessage(c.spec)));
  if (c.invocationId !== undefined) w.uint32(tag(6, LEN)).string(c.invocationId);
  if (c.partition !== undefined) w.uint32(tag(7, VARINT)).uint32(c.partition);
  if (c.priority !== undefined) w.uint32(tag(8, VARINT)).sint32(c.priority);
  if (c.sink !== undefined) putIngressSink(w, 9, c.sink);
  if (c.dedup !== undefined) putDedup(w, 10, c.dedup);
}

/** Reads the fields of a FlowCommand message up to `end`. */
export function readFlowCommand(r: BinaryReader, end: number): FlowCommand {
  let op = 0;
  let rule = '';
  let now = 0;
  let limitKey: string | undefined;
  let spec: FlowRule | undefined;
  let invocationId: string | undefined;
  let partition: number | undefined;
  let priority: number | undefined;
  let sink: IngressSink | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | VARINT: op = r.uint32(); break;
      case (2 << 3) | LEN: rule = r.string(); break;
      case (3 << 3) | I64: now = r.double(); break;
      case (4 << 3) | LEN: limitKey = r.string(); break;
      case (5 << 3) | LEN: spec = ruleFromMessage(fromBinary(gen.FlowRuleSchema, r.bytes())); break;
      case (6 << 3) | LEN: invocationId = r.string(); break;
      case (7 << 3) | VARINT: partition = r.uint32(); break;
      case (8 << 3) | VARINT: priority = r.sint32(); break;
      case (9 << 3) | LEN: sink = readIngressSink(r); break;
      case (10 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  return {
    kind: 'flow',
    op: OPS.decode(op),
    rule,
    now,
    ...(limitKey !== undefined ? { limitKey } : {}),
    ...(spec !== undefined ? { spec } : {}),
    ...(invocationId !== undefined ? { invocationId } : {}),
    ...(partition !== undefined ? { partition } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(sink !== undefined ? { sink } : {}),
    ...(dedup !== undefined ? { dedup } : {}),
  };
}

/** Bytes of a flow rule record. */
export function encodeFlowRule(rule: FlowRule): Uint8Array {
  return writeRecord('flow rule', rule, (w, r) => w.raw(toBinary(gen.FlowRuleSchema, ruleToMessage(r))));
}

/** Inverse of encodeFlowRule. */
export function decodeFlowRule(bytes: Uint8Array): FlowRule {
  return readRecord('flow rule', bytes, (r, end) => ruleFromMessage(fromBinary(gen.FlowRuleSchema, rest(bytes, r, end))), legacy('flow rule'));
}

/** Bytes of a flow limiter record. */
export function encodeFlowLimiter(l: FlowLimiter): Uint8Array {
  return writeRecord('flow limiter', l, (w, v) =>
    w.raw(
      toBinary(
        gen.FlowLimiterSchema,
        create(gen.FlowLimiterSchema, {
          rule: v.rule,
          limitKey: v.limitKey,
          running: v.running.map(waiterToMessage),
          waiting: v.waiting.map(waiterToMessage),
          tokens: v.tokens,
          refilledAt: v.refilledAt,
          debounced: v.debounced === undefined ? undefined : waiterToMessage(v.debounced),
          debounceUntil: v.debounceUntil,
          seq: BigInt(v.seq),
        }),
      ),
    ),
  );
}

/** Inverse of encodeFlowLimiter. */
export function decodeFlowLimiter(bytes: Uint8Array): FlowLimiter {
  return readRecord(
    'flow limiter',
    bytes,
    (r, end) => {
      const m = fromBinary(gen.FlowLimiterSchema, rest(bytes, r, end));
      return {
        rule: m.rule,
        limitKey: m.limitKey,
        running: m.running.map(waiterFromMessage),
        waiting: m.waiting.map(waiterFromMessage),
        tokens: m.tokens,
        refilledAt: m.refilledAt,
        debounced: m.debounced === undefined ? undefined : waiterFromMessage(m.debounced),
        debounceUntil: m.debounceUntil,
        seq: Number(m.seq),
      };
    },
    legacy('flow limiter'),
  );
}

/** The message after the format byte; consumes it. */
function rest(bytes: Uint8Array, r: BinaryReader, end: number): Uint8Array {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset + r.pos, end - r.pos);
  r.pos = end;
  return view;
}

function legacy(what: string): () => never {
  return () => {
    throw new Error(`${what} records exist only in the protobuf format`);
  };
}

function ruleToMessage(r: FlowRule): gen.FlowRule {
  return create(gen.FlowRuleSchema, {
    id: r.id,
    service: r.service,
    handler: r.handler,
    concurrency: r.concurrency,
    rate: r.rate === undefined ? undefined : { count: r.rate.count, intervalMs: r.rate.intervalMs, burst: r.rate.burst },
    debounceMs: r.debounceMs,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });
}

function ruleFromMessage(m: gen.FlowRule): FlowRule {
  return {
    id: m.id,
    service: m.service,
    handler: m.handler,
    concurrency: m.concurrency,
    rate: m.rate === undefined ? undefined : { count: m.rate.count, intervalMs: m.rate.intervalMs, burst: m.rate.burst },
    debounceMs: m.debounceMs,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

function waiterToMessage(w: FlowWaiter): gen.FlowWaiter {
  return create(gen.FlowWaiterSchema, { id: w.id, partition: w.partition, priority: w.priority, seq: BigInt(w.seq) });
}

function waiterFromMessage(m: gen.FlowWaiter): FlowWaiter {
  return { id: m.id, partition: m.partition, priority: m.priority, seq: Number(m.seq) };
}
