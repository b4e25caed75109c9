/**
 * The bytes of schedules: the spec inside `schedule` commands (LogEntry field 13) and the
 * schedule record the store keeps (message ScheduleRecord of proto/endure/records.proto). The
 * spec and the record go through the generated message types; the command's envelope is
 * written field by field like the other commands.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import * as gen from '../protocol/generated/endure/records_pb.ts';
import type { CatchUpPolicy, OverlapPolicy, ScheduleRecord, ScheduleSpec } from '../schedule/model.ts';
import type { Dedup, IngressSink, ResolvedTarget, ScheduleCommand, ScheduleOp } from '../types/index.ts';
import { readRecord, writeRecord } from './format.ts';
import { EnumCodec, I64, LEN, VARINT, putDedup, putIngressSink, putTarget, readDedup, readIngressSink, readTarget, skip, tag } from './wire.ts';

const OPS = new EnumCodec<ScheduleOp>('schedule op', ['put', 'delete', 'pause', 'resume', 'trigger', 'backfill', 'tick', 'done']);
const OVERLAPS = new EnumCodec<OverlapPolicy>('overlap policy', ['skip', 'buffer-one', 'allow-all']);
const CATCH_UPS = new EnumCodec<CatchUpPolicy>('catch-up policy', ['none', 'last', 'all']);

/** Writes the fields of a ScheduleCommand message (inside its LogEntry field). */
export function putScheduleCommand(w: BinaryWriter, c: ScheduleCommand): void {
  w.uint32(tag(1, VARINT)).uint32(OPS.encode(c.op));
  w.uint32(tag(2, LEN)).string(c.id);
  w.uint32(tag(3, I64)).double(c.now);
  if (c.spec !== undefined) w.uint32(tag(4, LEN)).bytes(toBinary(gen.ScheduleSpecSchema, specToMessage(c.spec)));
  if (c.target !== undefined) putTarget(w, 5, c.target);
  if (c.from !== undefined) w.uint32(tag(6, I64)).double(c.from);
  if (c.to !== undefined) w.uint32(tag(7, I64)).double(c.to);
  if (c.invocationId !== undefined) w.uint32(tag(8, LEN)).string(c.invocationId);
  if (c.sink !== undefined) putIngressSink(w, 9, c.sink);
  if (c.dedup !== undefined) putDedup(w, 10, c.dedup);
}

/** Reads the fields of a ScheduleCommand message up to `end`. */
export function readScheduleCommand(r: BinaryReader, end: number): ScheduleCommand {
  let op = 0;
  let id = '';
  let now = 0;
  let spec: ScheduleSpec | undefined;
  let target: ResolvedTarget | undefined;
  let from: number | undefined;
  let to: number | undefined;
  let invocationId: string | undefined;
  let sink: IngressSink | undefined;
  let dedup: Dedup | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | VARINT: op = r.uint32(); break;
      case (2 << 3) | LEN: id = r.string(); break;
      case (3 << 3) | I64: now = r.double(); break;
      case (4 << 3) | LEN: spec = specFromMessage(fromBinary(gen.ScheduleSpecSchema, r.bytes())); break;
      case (5 << 3) | LEN: target = readTarget(r); break;
      case (6 << 3) | I64: from = r.double(); break;
      case (7 << 3) | I64: to = r.double(); break;
      case (8 << 3) | LEN: invocationId = r.string(); break;
      case (9 << 3) | LEN: sink = readIngressSink(r); break;
      case (10 << 3) | LEN: dedup = readDedup(r); break;
      default: skip(r, t);
    }
  }
  return {
    kind: 'schedule',
    op: OPS.decode(op),
    id,
    now,
    ...(spec !== undefined ? { spec } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(invocationId !== undefined ? { invocationId } : {}),
    ...(sink !== undefined ? { sink } : {}),
    ...(dedup !== undefined ? { dedup } : {}),
  };
}

/** Bytes of a schedule record. */
export function encodeScheduleRecord(record: ScheduleRecord): Uint8Array {
  return writeRecord('schedule', record, (w, rec) => {
    w.raw(
      toBinary(
        gen.ScheduleRecordSchema,
        create(gen.ScheduleRecordSchema, {
          spec: specToMessage(rec.spec),
          paused: rec.paused,
          nextTick: rec.nextTick,
          running: rec.running,
          buffered: rec.buffered,
          lastTick: rec.lastTick,
          started: BigInt(rec.started),
          skipped: BigInt(rec.skipped),
          missed: BigInt(rec.missed),
          lastError: rec.lastError,
          createdAt: rec.createdAt,
          updatedAt: rec.updatedAt,
        }),
      ),
    );
  });
}

/** Inverse of encodeScheduleRecord. Schedules never had a record before the protobuf format. */
export function decodeScheduleRecord(bytes: Uint8Array): ScheduleRecord {
  return readRecord(
    'schedule',
    bytes,
    (r, end) => {
      // The record is the message itself after the format byte.
      const m = fromBinary(gen.ScheduleRecordSchema, new Uint8Array(bytes.buffer, bytes.byteOffset + r.pos, end - r.pos));
      r.pos = end;
      if (m.spec === undefined) throw new Error('schedule record without spec');
      return {
        spec: specFromMessage(m.spec),
        paused: m.paused,
        nextTick: m.nextTick,
        running: [...m.running],
        buffered: m.buffered,
        lastTick: m.lastTick,
        started: Number(m.started),
        skipped: Number(m.skipped),
        missed: Number(m.missed),
        lastError: m.lastError,
        createdAt: m.createdAt,
        updatedAt: m.updatedAt,
      };
    },
    () => {
      throw new Error('schedule records exist only in the protobuf format');
    },
  );
}

function specToMessage(s: ScheduleSpec): gen.ScheduleSpec {
  return create(gen.ScheduleSpecSchema, {
    id: s.id,
    target: { service: s.target.service, handler: s.target.handler, key: s.target.key },
    cadence:
      s.cadence.kind === 'cron'
        ? { case: 'cron', value: { expression: s.cadence.expression, timezone: s.cadence.timezone } }
        : { case: 'every', value: { everyMs: s.cadence.everyMs, anchorMs: s.cadence.anchorMs } },
    overlap: OVERLAPS.encode(s.overlap),
    catchUp: CATCH_UPS.encode(s.catchUp),
    catchUpLimit: s.catchUpLimit,
    input: s.input,
    declared: s.declared,
  });
}

function specFromMessage(m: gen.ScheduleSpec): ScheduleSpec {
  if (m.target === undefined) throw new Error('schedule spec without target');
  const c = m.cadence;
  if (c.case === undefined) throw new Error('schedule spec without cadence');
  return {
    id: m.id,
    target: { service: m.target.service, handler: m.target.handler, key: m.target.key },
    cadence:
      c.case === 'cron'
        ? { kind: 'cron', expression: c.value.expression, timezone: c.value.timezone }
        : { kind: 'every', everyMs: c.value.everyMs, anchorMs: c.value.anchorMs },
    overlap: OVERLAPS.decode(m.overlap),
    catchUp: CATCH_UPS.decode(m.catchUp),
    catchUpLimit: m.catchUpLimit,
    input: m.input,
    declared: m.declared,
  };
}
