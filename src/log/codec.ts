/**
 * Log entries: the bytes of a command in a partition's log, and of an outbox message (a
 * command plus the partition it is for). Message `LogEntry` of proto/endure/records.proto,
 * behind the format byte of format.ts; entries written by `node:v8` before that format still
 * read.
 */
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import type { Command, Dedup, IngressSink, InvocationOp, InvocationResult, NewInvocation, ResolvedTarget, SignalResult, Sink } from '../types/index.ts';
import { readRecord, writeRecord } from './format.ts';
import { putFlowCommand, readFlowCommand } from './flow.ts';
import { putScheduleCommand, readScheduleCommand } from './schedule.ts';
import {
  done,
  endOf,
  EnumCodec,
  I64,
  LEN,
  open,
  putDedup,
  putIngressSink,
  putResult,
  putSignalResult,
  putSink,
  putStringList,
  putTarget,
  putU32List,
  putU64,
  readDedup,
  readIngressSink,
  readResult,
  readSignalResult,
  readSink,
  readTarget,
  readU32List,
  readU64,
  skip,
  tag,
  VARINT,
} from './wire.ts';

/** A log entry: the command and, for outbox messages, the partition it goes to. */
export interface LogEntry {
  command: Command;
  partition?: number;
}

/** Encodes a command for the log or, with the partition it is for, for the outbox. */
export function encodeCommand(command: Command, partition?: number): Uint8Array {
  return writeRecord('log', { command, partition }, writeEntry);
}

/** Inverse of encodeCommand; also reads entries written before the protobuf format. */
export function decodeCommand(bytes: Uint8Array): LogEntry {
  return readRecord('log', bytes, readEntry, (value) => value as LogEntry);
}

const SINK_MODES = new EnumCodec<NewInvocation['sinkMode']>('sink mode', ['result', 'accepted']);
const OPS = new EnumCodec<InvocationOp>('invocation op', ['cancel', 'kill', 'pause', 'resume', 'purge', 'restart-as-new']);
const ATTACH_MODES = new EnumCodec<'attach' | 'output'>('attach mode', ['attach', 'output']);

/** Field numbers of the `command` oneof of LogEntry, by command kind. */
const KIND_FIELD = {
  invoke: 1,
  'journal-command': 2,
  'run-completion': 3,
  suspend: 4,
  end: 5,
  fail: 6,
  'call-response': 7,
  signal: 8,
  op: 9,
  'timer-fired': 10,
  attach: 11,
  'outbox-delivered': 12,
  'state-mutation': 13,
  schedule: 14,
  flow: 15,
} as const satisfies Record<Command['kind'], number>;

const PARTITION_FIELD = 16;

function writeEntry(w: BinaryWriter, entry: { command: Command; partition: number | undefined }): void {
  const c = entry.command;
  open(w, KIND_FIELD[c.kind]);
  switch (c.kind) {
    case 'invoke':
      putInvocation(w, c.invocation);
      if (c.dedup !== undefined) putDedup(w, 2, c.dedup);
      break;
    case 'journal-command':
      w.uint32(tag(1, LEN)).string(c.id);
      w.uint32(tag(2, VARINT)).uint32(c.commandIndex);
      w.uint32(tag(3, VARINT)).uint32(c.type);
      w.uint32(tag(4, LEN)).bytes(c.body);
      w.uint32(tag(5, I64)).double(c.now);
      if (c.callee !== undefined) putTarget(w, 6, c.callee);
      if (c.traceparent !== undefined) w.uint32(tag(7, LEN)).string(c.traceparent);
      break;
    case 'run-completion':
      w.uint32(tag(1, LEN)).string(c.id);
      w.uint32(tag(2, VARINT)).uint32(c.completionId);
      putResult(w, 3, c.result);
      break;
    case 'suspend':
      w.uint32(tag(1, LEN)).string(c.id);
      putU32List(w, 2, c.completions);
      putU32List(w, 3, c.signals);
      putStringList(w, 4, c.namedSignals);
      break;
    case 'end':
      w.uint32(tag(1, LEN)).string(c.id);
      w.uint32(tag(2, I64)).double(c.now);
      break;
    case 'fail':
      w.uint32(tag(1, LEN)).string(c.id);
      w.uint32(tag(2, I64)).double(c.now);
      putResult(w, 3, c.result);
      break;
    case 'call-response':
      w.uint32(tag(1, LEN)).string(c.id);
      w.uint32(tag(2, VARINT)).uint32(c.completionId);
      if (c.result !== undefined) putResult(w, 3, c.result);
      if (c.notificationType !== undefined) w.uint32(tag(4, VARINT)).uint32(c.notificationType);
      if (c.dedup !== undefined) putDedup(w, 5, c.dedup);
      break;
    case 'signal':
      w.uint32(tag(1, LEN)).string(c.id);
      if (typeof c.signal === 'number') w.uint32(tag(2, VARINT)).uint32(c.signal);
      else w.uint32(tag(3, LEN)).string(c.signal);
      putSignalResult(w, 4, c.result);
      if (c.sink !== undefined) putIngressSink(w, 5, c.sink);
      if (c.dedup !== undefined) putDedup(w, 6, c.dedup);
      break;
    case 'op':
      w.uint32(tag(1, VARINT)).uint32(OPS.encode(c.op));
      w.uint32(tag(2, LEN)).string(c.id);
      w.uint32(tag(3, I64)).double(c.now);
      if (c.newId !== undefined) w.uint32(tag(4, LEN)).string(c.newId);
      if (c.sink !== undefined) putIngressSink(w, 5, c.sink);
      if (c.dedup !== undefined) putDedup(w, 6, c.dedup);
      break;
    case 'timer-fired':
      w.uint32(tag(1, LEN)).string(c.timerKey);
      w.uint32(tag(2, I64)).double(c.now);
      break;
    case 'attach':
      w.uint32(tag(1, LEN)).string(c.id);
      w.uint32(tag(2, VARINT)).uint32(ATTACH_MODES.encode(c.mode));
      putSink(w, 3, c.sink);
      if (c.dedup !== undefined) putDedup(w, 4, c.dedup);
      break;
    case 'outbox-delivered':
      putU64(w, 1, c.upTo);
      break;
    case 'state-mutation':
      w.uint32(tag(1, LEN)).string(c.service);
      w.uint32(tag(2, LEN)).string(c.key);
      for (const [name, value] of c.entries) {
        open(w, 3);
        w.uint32(tag(1, LEN)).bytes(name);
        w.uint32(tag(2, LEN)).bytes(value);
        w.join();
      }
      if (c.version !== undefined) w.uint32(tag(4, LEN)).string(c.version);
      if (c.sink !== undefined) putIngressSink(w, 5, c.sink);
      if (c.dedup !== undefined) putDedup(w, 6, c.dedup);
      break;
    case 'schedule':
      putScheduleCommand(w, c);
      break;
    case 'flow':
      putFlowCommand(w, c);
      break;
    default:
      throw new Error(`unknown command kind ${JSON.stringify((c as { kind: unknown }).kind)}`);
  }
  w.join();
  if (entry.partition !== undefined) w.uint32(tag(PARTITION_FIELD, VARINT)).uint32(entry.partition);
}

function putInvocation(w: BinaryWriter, inv: NewInvocation): void {
  open(w, 1);
  w.uint32(tag(1, LEN)).string(inv.id);
  putTarget(w, 2, inv.target);
  w.uint32(tag(3, LEN)).bytes(inv.inputEntry);
  if (inv.idempotencyKey !== undefined) w.uint32(tag(4, LEN)).string(inv.idempotencyKey);
  if (inv.executeAt !== undefined) w.uint32(tag(5, I64)).double(inv.executeAt);
  w.uint32(tag(6, I64)).double(inv.createdAt);
  if (inv.sink !== undefined) putSink(w, 7, inv.sink);
  w.uint32(tag(8, VARINT)).uint32(SINK_MODES.encode(inv.sinkMode));
  w.join();
}

function readEntry(r: BinaryReader, end: number): LogEntry {
  let command: Command | undefined;
  let partition: number | undefined;
  let unknown: number | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(PARTITION_FIELD, VARINT)) {
      partition = r.uint32();
    } else if ((t & 7) === LEN && t >>> 3 >= 1 && t >>> 3 <= KIND_FIELD.flow) {
      command = readCommand(r, t >>> 3);
    } else if ((t & 7) === LEN && t >>> 3 < PARTITION_FIELD) {
      throw new Error(`unknown command kind (field ${t >>> 3})`);
    } else {
      // Past the partition field, a message may be a command kind of a later version.
      if ((t & 7) === LEN) unknown = t >>> 3;
      skip(r, t);
    }
  }
  done(r, end);
  if (command === undefined && unknown !== undefined) throw new Error(`unknown command kind (field ${unknown})`);
  if (command === undefined) throw new Error('log entry holds no command');
  return partition === undefined ? { command } : { command, partition };
}

function readCommand(r: BinaryReader, field: number): Command {
  const end = endOf(r);
  let c: Command;
  switch (field) {
    case KIND_FIELD.invoke: c = readInvoke(r, end); break;
    case KIND_FIELD['journal-command']: c = readJournalCommand(r, end); break;
    case KIND_FIELD['run-completion']: c = readRunCompletion(r, end); break;
    case KIND_FIELD.suspend: c = readSuspend(r, end); break;
    case KIND_FIELD.end: c = readEnd(r, end); break;
    case KIND_FIELD.fail: c = readFail(r, end); break;
    case KIND_FIELD['call-response']: c = readCallResponse(r, end); break;
    case KIND_FIELD.signal: c = readSignal(r, end); break;
    case KIND_FIELD.op: c = readOp(r, end); break;
    case KIND_FIELD['timer-fired']: c = readTimerFired(r, end); break;
    case KIND_FIELD.attach: c = readAttach(r, end); break;
    case KIND_FIELD['state-mutation']: c = readStateMutation(r, end); break;
    case KIND_FIELD.schedule: c = readScheduleCommand(r, end); break;
    case KIND_FIELD.flow: c = readFlowCommand(r, end); break;
    default: c = readOutboxDelivered(r, end); break;
  }
  done(r, end);
  return c;
}

function readInvoke(r: BinaryReader, end: number): Command {
  let invocation: NewInvocation | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: invocation = readInvocation(r); break;
      case (2 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  if (invocation === undefined) throw new Error('invoke command without invocation');
  return dedup === undefined ? { kind: 'invoke', invocation } : { kind: 'invoke', invocation, dedup };
}

function readInvocation(r: BinaryReader): NewInvocation {
  const end = endOf(r);
  let id = '';
  let target: ResolvedTarget | undefined;
  let inputEntry = EMPTY;
  let idempotencyKey: string | undefined;
  let executeAt: number | undefined;
  let createdAt = 0;
  let sink: Sink | undefined;
  let sinkMode = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | LEN: target = readTarget(r); break;
      case (3 << 3) | LEN: inputEntry = r.bytes(); break;
      case (4 << 3) | LEN: idempotencyKey = r.string(); break;
      case (5 << 3) | I64: executeAt = r.double(); break;
      case (6 << 3) | I64: createdAt = r.double(); break;
      case (7 << 3) | LEN: sink = readSink(r); break;
      case (8 << 3) | VARINT: sinkMode = r.uint32(); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  if (target === undefined) throw new Error('invocation without target');
  return { id, target, inputEntry, idempotencyKey, executeAt, createdAt, sink, sinkMode: SINK_MODES.decode(sinkMode) };
}

function readJournalCommand(r: BinaryReader, end: number): Command {
  let id = '';
  let commandIndex = 0;
  let type = 0;
  let body = EMPTY;
  let now = 0;
  let callee: ResolvedTarget | undefined;
  let traceparent: string | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: commandIndex = r.uint32(); break;
      case (3 << 3) | VARINT: type = r.uint32(); break;
      case (4 << 3) | LEN: body = r.bytes(); break;
      case (5 << 3) | I64: now = r.double(); break;
      case (6 << 3) | LEN: callee = readTarget(r); break;
      case (7 << 3) | LEN: traceparent = r.string(); break;
      default: skip(r, t);
    }
  }
  return {
    kind: 'journal-command',
    id,
    commandIndex,
    type,
    body,
    now,
    ...(callee !== undefined ? { callee } : {}),
    ...(traceparent !== undefined ? { traceparent } : {}),
  };
}

function readRunCompletion(r: BinaryReader, end: number): Command {
  let id = '';
  let completionId = 0;
  let result: InvocationResult | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: completionId = r.uint32(); break;
      case (3 << 3) | LEN: result = readResult(r); break;
      default: skip(r, t);
    }
  }
  if (result === undefined) throw new Error('run completion without result');
  return { kind: 'run-completion', id, completionId, result };
}

function readSuspend(r: BinaryReader, end: number): Command {
  let id = '';
  const completions: number[] = [];
  const signals: number[] = [];
  const namedSignals: string[] = [];
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: if (t === tag(1, LEN)) id = r.string(); else skip(r, t); break;
      case 2: readU32List(r, t & 7, completions); break;
      case 3: readU32List(r, t & 7, signals); break;
      case 4: if (t === tag(4, LEN)) namedSignals.push(r.string()); else skip(r, t); break;
      default: skip(r, t);
    }
  }
  return { kind: 'suspend', id, completions, signals, namedSignals };
}

function readEnd(r: BinaryReader, end: number): Command {
  let id = '';
  let now = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | I64: now = r.double(); break;
      default: skip(r, t);
    }
  }
  return { kind: 'end', id, now };
}

function readFail(r: BinaryReader, end: number): Command {
  let id = '';
  let now = 0;
  let result: InvocationResult | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | I64: now = r.double(); break;
      case (3 << 3) | LEN: result = readResult(r); break;
      default: skip(r, t);
    }
  }
  if (result === undefined) throw new Error('fail command without result');
  return { kind: 'fail', id, now, result };
}

function readCallResponse(r: BinaryReader, end: number): Command {
  let id = '';
  let completionId = 0;
  let result: InvocationResult | undefined;
  let notificationType: number | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: completionId = r.uint32(); break;
      case (3 << 3) | LEN: result = readResult(r); break;
      case (4 << 3) | VARINT: notificationType = r.uint32(); break;
      case (5 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  const c: Extract<Command, { kind: 'call-response' }> =
    notificationType === undefined ? { kind: 'call-response', id, completionId, result } : { kind: 'call-response', id, completionId, result, notificationType };
  return dedup === undefined ? c : { ...c, dedup };
}

function readSignal(r: BinaryReader, end: number): Command {
  let id = '';
  let signal: number | string | undefined;
  let result: SignalResult | undefined;
  let sink: IngressSink | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: signal = r.uint32(); break;
      case (3 << 3) | LEN: signal = r.string(); break;
      case (4 << 3) | LEN: result = readSignalResult(r); break;
      case (5 << 3) | LEN: sink = readIngressSink(r); break;
      case (6 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  if (signal === undefined) throw new Error('signal command without signal');
  if (result === undefined) throw new Error('signal command without result');
  const c: { -readonly [K in keyof SignalCommand]: SignalCommand[K] } = { kind: 'signal', id, signal, result };
  if (sink !== undefined) c.sink = sink;
  if (dedup !== undefined) c.dedup = dedup;
  return c;
}

type SignalCommand = Extract<Command, { kind: 'signal' }>;
type OpCommand = Extract<Command, { kind: 'op' }>;
type AttachCommand = Extract<Command, { kind: 'attach' }>;

function readOp(r: BinaryReader, end: number): Command {
  let op = 0;
  let id = '';
  let now = 0;
  let newId: string | undefined;
  let sink: IngressSink | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | VARINT: op = r.uint32(); break;
      case (2 << 3) | LEN: id = r.string(); break;
      case (3 << 3) | I64: now = r.double(); break;
      case (4 << 3) | LEN: newId = r.string(); break;
      case (5 << 3) | LEN: sink = readIngressSink(r); break;
      case (6 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  const c: { -readonly [K in keyof OpCommand]: OpCommand[K] } = { kind: 'op', op: OPS.decode(op), id, now };
  if (newId !== undefined) c.newId = newId;
  if (sink !== undefined) c.sink = sink;
  if (dedup !== undefined) c.dedup = dedup;
  return c;
}

function readTimerFired(r: BinaryReader, end: number): Command {
  let timerKey = '';
  let now = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: timerKey = r.string(); break;
      case (2 << 3) | I64: now = r.double(); break;
      default: skip(r, t);
    }
  }
  return { kind: 'timer-fired', timerKey, now };
}

function readAttach(r: BinaryReader, end: number): Command {
  let id = '';
  let mode = 0;
  let sink: Sink | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: mode = r.uint32(); break;
      case (3 << 3) | LEN: sink = readSink(r); break;
      case (4 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  if (sink === undefined) throw new Error('attach command without sink');
  const c: { -readonly [K in keyof AttachCommand]: AttachCommand[K] } = { kind: 'attach', id, mode: ATTACH_MODES.decode(mode), sink };
  if (dedup !== undefined) c.dedup = dedup;
  return c;
}

function readOutboxDelivered(r: BinaryReader, end: number): Command {
  let upTo = 0;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(1, VARINT)) upTo = readU64(r);
    else skip(r, t);
  }
  return { kind: 'outbox-delivered', upTo };
}

function readStateMutation(r: BinaryReader, end: number): Command {
  let service = '';
  let key = '';
  const entries: [Uint8Array, Uint8Array][] = [];
  let version: string | undefined;
  let sink: IngressSink | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: service = r.string(); break;
      case (2 << 3) | LEN: key = r.string(); break;
      case (3 << 3) | LEN: entries.push(readStateEntry(r)); break;
      case (4 << 3) | LEN: version = r.string(); break;
      case (5 << 3) | LEN: sink = readIngressSink(r); break;
      case (6 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  return {
    kind: 'state-mutation',
    service,
    key,
    entries,
    ...(version !== undefined ? { version } : {}),
    ...(sink !== undefined ? { sink } : {}),
    ...(dedup !== undefined ? { dedup } : {}),
  };
}

function readStateEntry(r: BinaryReader): [Uint8Array, Uint8Array] {
  const end = endOf(r);
  let name = EMPTY;
  let value = EMPTY;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: name = r.bytes(); break;
      case (2 << 3) | LEN: value = r.bytes(); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return [name, value];
}

const EMPTY: Uint8Array = new Uint8Array(0);
