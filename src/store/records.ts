/**
 * The byte encoding of the records the store keeps besides the log: invocation status, timer
 * payloads and workflow promises. Every backend stores exactly these bytes, so a record written
 * by one backend (or one version of Endure) reads the same on another. The messages are those
 * of proto/endure/records.proto behind the log's format byte; records written by `node:v8`
 * before that format still read.
 */
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { readRecord, wire, writeRecord } from '../log/index.ts';
import type { InvocationPhase, InvocationResult, InvocationStatus, ResolvedTarget, Sink, TimerPayload } from '../types/index.ts';
import type { PromiseRecord } from './partition.ts';

const { I64, LEN, VARINT, tag, open, done, endOf, skip } = wire;

/** Bytes of an invocation status record. */
export function encodeStatus(status: InvocationStatus): Uint8Array {
  return writeRecord('invocation status', status, writeStatus);
}

/** Inverse of encodeStatus. */
export function decodeStatus(bytes: Uint8Array): InvocationStatus {
  return readRecord('invocation status', bytes, readStatus, (v) => v as InvocationStatus);
}

/** Bytes of a timer's payload. */
export function encodeTimerPayload(payload: TimerPayload): Uint8Array {
  return writeRecord('timer', payload, writeTimer);
}

/** Inverse of encodeTimerPayload. */
export function decodeTimerPayload(bytes: Uint8Array): TimerPayload {
  return readRecord('timer', bytes, readTimer, (v) => v as TimerPayload);
}

/** Bytes of a completed promise's result. */
export function encodeResult(result: InvocationResult): Uint8Array {
  return writeRecord('promise result', result, wire.putResultBody);
}

/** Inverse of encodeResult. */
export function decodeResult(bytes: Uint8Array): InvocationResult {
  return readRecord('promise result', bytes, wire.readResultBody, (v) => v as InvocationResult);
}

/** Bytes of the list of invocations waiting on a promise. */
export function encodeWaiters(waiters: PromiseRecord['waiters']): Uint8Array {
  return writeRecord('promise waiters', waiters, writeWaiters);
}

/** Inverse of encodeWaiters. */
export function decodeWaiters(bytes: Uint8Array): PromiseRecord['waiters'] {
  return readRecord('promise waiters', bytes, readWaiters, (v) => v as PromiseRecord['waiters']);
}

// ---- InvocationStatus ----

const PHASES = new wire.EnumCodec<InvocationPhase>('invocation phase', [
  'scheduled',
  'inboxed',
  'invoked',
  'suspended',
  'paused',
  'completed',
]);

function writeStatus(w: BinaryWriter, s: InvocationStatus): void {
  w.uint32(tag(1, LEN)).string(s.id);
  w.uint32(tag(2, VARINT)).uint32(s.partition);
  w.uint32(tag(3, VARINT)).uint32(PHASES.encode(s.phase));
  wire.putTarget(w, 4, s.target);
  if (s.idempotencyKey !== undefined) w.uint32(tag(5, LEN)).string(s.idempotencyKey);
  w.uint32(tag(6, I64)).double(s.createdAt);
  w.uint32(tag(7, I64)).double(s.modifiedAt);
  if (s.completedAt !== undefined) w.uint32(tag(8, I64)).double(s.completedAt);
  w.uint32(tag(9, VARINT)).uint32(s.journalLength);
  w.uint32(tag(10, VARINT)).uint32(s.commandCount);
  if (s.waiting !== undefined) {
    open(w, 11);
    wire.putU32List(w, 1, s.waiting.completions);
    wire.putU32List(w, 2, s.waiting.signals);
    wire.putStringList(w, 3, s.waiting.namedSignals);
    w.join();
  }
  for (const sink of s.sinks) wire.putSink(w, 12, sink);
  if (s.result !== undefined) wire.putResult(w, 13, s.result);
}

function readStatus(r: BinaryReader, end: number): InvocationStatus {
  let id = '';
  let partition = 0;
  let phase = 0;
  let target: ResolvedTarget | undefined;
  let idempotencyKey: string | undefined;
  let createdAt = 0;
  let modifiedAt = 0;
  let completedAt: number | undefined;
  let journalLength = 0;
  let commandCount = 0;
  let waiting: InvocationStatus['waiting'];
  const sinks: Sink[] = [];
  let result: InvocationResult | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: partition = r.uint32(); break;
      case (3 << 3) | VARINT: phase = r.uint32(); break;
      case (4 << 3) | LEN: target = wire.readTarget(r); break;
      case (5 << 3) | LEN: idempotencyKey = r.string(); break;
      case (6 << 3) | I64: createdAt = r.double(); break;
      case (7 << 3) | I64: modifiedAt = r.double(); break;
      case (8 << 3) | I64: completedAt = r.double(); break;
      case (9 << 3) | VARINT: journalLength = r.uint32(); break;
      case (10 << 3) | VARINT: commandCount = r.uint32(); break;
      case (11 << 3) | LEN: waiting = readWaiting(r); break;
      case (12 << 3) | LEN: sinks.push(wire.readSink(r)); break;
      case (13 << 3) | LEN: result = wire.readResult(r); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  if (target === undefined) throw new Error('status without target');
  return {
    id,
    partition,
    phase: PHASES.decode(phase),
    target,
    idempotencyKey,
    createdAt,
    modifiedAt,
    completedAt,
    journalLength,
    commandCount,
    waiting,
    sinks,
    result,
  };
}

function readWaiting(r: BinaryReader): NonNullable<InvocationStatus['waiting']> {
  const end = endOf(r);
  const waiting = { completions: [] as number[], signals: [] as number[], namedSignals: [] as string[] };
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: wire.readU32List(r, t & 7, waiting.completions); break;
      case 2: wire.readU32List(r, t & 7, waiting.signals); break;
      case 3: if (t === tag(3, LEN)) waiting.namedSignals.push(r.string()); else skip(r, t); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return waiting;
}

// ---- TimerPayload ----

const TIMER_FIELD = { sleep: 1, 'scheduled-invoke': 2, cleanup: 3, schedule: 4, flow: 5 } as const satisfies Record<TimerPayload['kind'], number>;

function writeTimer(w: BinaryWriter, p: TimerPayload): void {
  open(w, TIMER_FIELD[p.kind]);
  w.uint32(tag(1, LEN)).string(p.id);
  if (p.kind === 'sleep') w.uint32(tag(2, VARINT)).uint32(p.completionId);
  w.join();
}

function readTimer(r: BinaryReader, end: number): TimerPayload {
  let payload: TimerPayload | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    const field = t >>> 3;
    if ((t & 7) !== LEN || field < 1 || field > TIMER_FIELD.flow) {
      skip(r, t);
      continue;
    }
    const mend = endOf(r);
    let id = '';
    let completionId = 0;
    while (r.pos < mend) {
      const ft = r.uint32();
      switch (ft) {
        case (1 << 3) | LEN: id = r.string(); break;
        case (2 << 3) | VARINT: completionId = r.uint32(); break;
        default: skip(r, ft);
      }
    }
    done(r, mend);
    payload =
      field === TIMER_FIELD.sleep
        ? { kind: 'sleep', id, completionId }
        : field === TIMER_FIELD['scheduled-invoke']
          ? { kind: 'scheduled-invoke', id }
          : field === TIMER_FIELD.cleanup
            ? { kind: 'cleanup', id }
            : field === TIMER_FIELD.schedule
              ? { kind: 'schedule', id }
              : { kind: 'flow', id };
  }
  done(r, end);
  if (payload === undefined) throw new Error('timer without kind');
  return payload;
}

// ---- PromiseWaiters ----

function writeWaiters(w: BinaryWriter, waiters: PromiseRecord['waiters']): void {
  for (const waiter of waiters) {
    open(w, 1);
    w.uint32(tag(1, LEN)).string(waiter.id);
    w.uint32(tag(2, VARINT)).uint32(waiter.completionId);
    w.join();
  }
}

function readWaiters(r: BinaryReader, end: number): PromiseRecord['waiters'] {
  const waiters: { id: string; completionId: number }[] = [];
  while (r.pos < end) {
    const t = r.uint32();
    if (t !== tag(1, LEN)) {
      skip(r, t);
      continue;
    }
    const wend = endOf(r);
    let id = '';
    let completionId = 0;
    while (r.pos < wend) {
      const ft = r.uint32();
      switch (ft) {
        case (1 << 3) | LEN: id = r.string(); break;
        case (2 << 3) | VARINT: completionId = r.uint32(); break;
        default: skip(r, ft);
      }
    }
    done(r, wend);
    waiters.push({ id, completionId });
  }
  done(r, end);
  return waiters;
}
