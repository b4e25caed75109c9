import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeCommand, decodeScheduleRecord, encodeCommand, encodeScheduleRecord, RecordFormatError, RecordFormatErrorCode } from '../../src/log/index.ts';
import * as pb from '../../src/protocol/generated/endure/records_pb.ts';
import {
  decodeResult,
  decodeStatus,
  decodeTimerPayload,
  decodeWaiters,
  encodeResult,
  encodeStatus,
  encodeTimerPayload,
  encodeWaiters,
} from '../../src/store/records.ts';
import type { Command, InvocationStatus } from '../../src/worker/index.ts';
import { flowLimiters, flowRules, logEntries, results, schedules, statuses, timers, waiters } from '../fixtures/records/values.ts';
import { decodeFlowLimiter, decodeFlowRule, encodeFlowLimiter, encodeFlowRule } from '../../src/log/index.ts';

// The record format (proto/endure/records.proto behind a format byte): every field of every
// record survives a round trip exactly, the bytes are those of the .proto, and bad bytes give
// a RecordFormatError instead of a wrong value.

const base = logEntries['journal-command']!.command as Extract<Command, { kind: 'journal-command' }>;
const status = statuses['status-suspended']!;

function roundTrip(command: Command, partition?: number): unknown {
  return decodeCommand(encodeCommand(command, partition));
}

describe('round trip', () => {
  it('every command kind keeps every field, with and without its optional fields', () => {
    const kinds = new Set<string>();
    for (const [name, { command, partition }] of Object.entries(logEntries)) {
      kinds.add(command.kind);
      expect(roundTrip(command, partition), name).toStrictEqual(partition === undefined ? { command } : { command, partition });
    }
    expect([...kinds].sort()).toEqual(
      ['attach', 'call-response', 'end', 'fail', 'flow', 'invoke', 'journal-command', 'op', 'outbox-delivered', 'run-completion', 'schedule', 'signal', 'state-mutation', 'suspend', 'timer-fired'],
    );
  });

  it('every store record keeps every field', () => {
    for (const s of Object.values(statuses)) expect(decodeStatus(encodeStatus(s))).toStrictEqual(s);
    for (const t of Object.values(timers)) expect(decodeTimerPayload(encodeTimerPayload(t))).toStrictEqual(t);
    for (const r of Object.values(results)) expect(decodeResult(encodeResult(r))).toStrictEqual(r);
    for (const w of Object.values(waiters)) expect(decodeWaiters(encodeWaiters(w))).toStrictEqual(w);
    for (const r of Object.values(schedules)) expect(decodeScheduleRecord(encodeScheduleRecord(r))).toStrictEqual(r);
    for (const r of Object.values(flowRules)) expect(decodeFlowRule(encodeFlowRule(r))).toStrictEqual(r);
    for (const l of Object.values(flowLimiters)) expect(decodeFlowLimiter(encodeFlowLimiter(l))).toStrictEqual(l);
  });

  it('every phase of an invocation status survives', () => {
    for (const phase of ['scheduled', 'inboxed', 'invoked', 'suspended', 'paused', 'completed'] as const) {
      expect(decodeStatus(encodeStatus({ ...status, phase })).phase).toBe(phase);
    }
  });

  it('numbers survive as JavaScript numbers: instants, negatives, fractions, and counters above 2^32', () => {
    for (const now of [0, -1, 1_764_400_000_123, 2 ** 53 - 1, -(2 ** 53), 1.5, Number.MAX_VALUE, Infinity, -Infinity]) {
      expect(roundTrip({ ...base, now })).toStrictEqual({ command: { ...base, now } });
    }
    for (const seq of [0, 1, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, 2 ** 53 - 1]) {
      const command: Command = { kind: 'outbox-delivered', upTo: seq };
      expect(roundTrip(command)).toStrictEqual({ command });
      const signal: Command = { kind: 'signal', id: 'i', signal: 1, result: { kind: 'void' }, dedup: { producer: 'p', seq }, sink: { kind: 'ingress', node: 'n', requestId: seq } };
      expect(roundTrip(signal)).toStrictEqual({ command: signal });
    }
    const target = { ...status.target, retentionMs: 0.25 };
    expect(decodeStatus(encodeStatus({ ...status, target })).target.retentionMs).toBe(0.25);
    expect(Number.isNaN((decodeCommand(encodeCommand({ ...base, now: NaN })).command as typeof base).now)).toBe(true);
  });

  it('bodies of any size come back as Uint8Arrays with the same bytes', () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 100_000, 3_000_000]) {
      const body = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
      const decoded = decodeCommand(encodeCommand({ ...base, body })).command as typeof base;
      expect(decoded.body).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(decoded.body)).toBe(false);
      expect(decoded.body.length).toBe(size);
      expect(Buffer.compare(decoded.body, body)).toBe(0);
    }
  });

  it('a Buffer body and a Buffer record read back as plain Uint8Arrays', () => {
    const bytes = Buffer.from(encodeCommand({ ...base, body: Buffer.from('abc') }));
    expect((decodeCommand(bytes).command as typeof base).body).toStrictEqual(new Uint8Array([0x61, 0x62, 0x63]));
  });

  it('strings keep every character, empty ones included', () => {
    for (const key of ['', 'a', 'ä', '日本語のキー', '🙂 emoji', 'x'.repeat(33), 'ü'.repeat(5000)]) {
      const target = { ...status.target, key };
      expect(decodeStatus(encodeStatus({ ...status, target, idempotencyKey: key })).target.key).toBe(key);
    }
  });

  it('absent and empty stay apart: key, metadata, partition 0, signal 0 and empty names', () => {
    const noKey = decodeStatus(encodeStatus({ ...status, target: { ...status.target, key: undefined } }));
    expect(noKey.target.key).toBeUndefined();
    expect(Object.hasOwn(noKey.target, 'key')).toBe(true);
    expect(decodeStatus(encodeStatus({ ...status, target: { ...status.target, key: '' } })).target.key).toBe('');

    expect(decodeResult(encodeResult({ ok: false, code: 1, message: '' }))).toStrictEqual({ ok: false, code: 1, message: '' });
    expect(decodeResult(encodeResult({ ok: false, code: 1, message: '', metadata: [] }))).toStrictEqual({ ok: false, code: 1, message: '', metadata: [] });

    expect(decodeCommand(encodeCommand(base, 0))).toStrictEqual({ command: base, partition: 0 });
    expect(Object.hasOwn(decodeCommand(encodeCommand(base)), 'partition')).toBe(false);

    const index0: Command = { kind: 'signal', id: 'i', signal: 0, result: { kind: 'void' } };
    const nameEmpty: Command = { kind: 'signal', id: 'i', signal: '', result: { kind: 'void' } };
    expect(roundTrip(index0)).toStrictEqual({ command: index0 });
    expect(roundTrip(nameEmpty)).toStrictEqual({ command: nameEmpty });
  });

  it('an optional field set to undefined reads back as absent', () => {
    const command = { ...base, callee: undefined };
    const decoded = decodeCommand(encodeCommand(command)).command;
    expect(decoded).toEqual(command);
    expect(Object.hasOwn(decoded, 'callee')).toBe(false);
  });
});

describe('the bytes are those of proto/endure/records.proto', () => {
  it('the generated schema reads what the encoder wrote', () => {
    const { command, partition } = logEntries['invoke-delayed-idempotent-from-invocation']!;
    const entry = fromBinary(pb.LogEntrySchema, encodeCommand(command, partition).subarray(1));
    expect(entry.partition).toBe(17);
    expect(entry.command.case).toBe('invoke');
    const invoke = entry.command.value as pb.Invoke;
    expect(invoke.invocation?.idempotencyKey).toBe('order-ü-7');
    expect(invoke.invocation?.executeAt).toBe(1_764_400_000_123 + 3_600_000);
    expect(invoke.invocation?.target?.serviceType).toBe(pb.ServiceType.WORKFLOW);
    expect(invoke.invocation?.target?.key).toBe('');
    expect(invoke.invocation?.sinkMode).toBe(pb.SinkMode.ACCEPTED);
    expect(invoke.invocation?.sink?.kind).toMatchObject({ case: 'invocation', value: { partition: 17, completionId: 4, notificationType: 0x8006 } });
    expect(invoke.dedup).toMatchObject({ producer: 'outbox-3', seq: 2n ** 40n + 5n });

    const s = fromBinary(pb.InvocationStatusSchema, encodeStatus(status).subarray(1));
    expect(s.phase).toBe(pb.InvocationPhase.SUSPENDED);
    expect(s.waiting?.completions).toEqual([3, 4]);
    expect(s.waiting?.namedSignals).toEqual(['approved']);
    expect(s.sinks).toHaveLength(2);
    expect(s.journalLength).toBe(12);
  });

  it('the decoder reads what the generated schema wrote', () => {
    const bytes = toBinary(
      pb.LogEntrySchema,
      create(pb.LogEntrySchema, {
        command: {
          case: 'suspend',
          value: { id: 'inv_x', completions: [1, 2, 70_000], signals: [5], namedSignals: ['a', 'b'] },
        },
        partition: 3,
      }),
    );
    expect(decodeCommand(Uint8Array.of(0x01, ...bytes))).toStrictEqual({
      command: { kind: 'suspend', id: 'inv_x', completions: [1, 2, 70_000], signals: [5], namedSignals: ['a', 'b'] },
      partition: 3,
    });
  });

  it('repeated numbers read whether packed or not', () => {
    const w = new BinaryWriter().uint32(0x01);
    w.uint32((4 << 3) | 2).fork(); // LogEntry.suspend
    w.uint32((1 << 3) | 2).string('inv_x');
    for (const n of [7, 8]) w.uint32(2 << 3).uint32(n); // completions, one tag per value
    w.join();
    expect(decodeCommand(w.finish())).toStrictEqual({ command: { kind: 'suspend', id: 'inv_x', completions: [7, 8], signals: [], namedSignals: [] } });
  });

  it('fields this version does not know are skipped, so a later compatible version can add some', () => {
    const bytes = encodeCommand({ kind: 'end', id: 'inv_x', now: 5 });
    const w = new BinaryWriter();
    w.raw(bytes);
    w.uint32((40 << 3) | 2).string('a field of a later version');
    w.uint32((41 << 3) | 0).uint32(7);
    expect(decodeCommand(w.finish())).toStrictEqual({ command: { kind: 'end', id: 'inv_x', now: 5 } });
  });
});

describe('records written before the protobuf format', () => {
  it('a log entry and an outbox entry written with node:v8 still read', () => {
    const { command } = logEntries['invoke-ingress']!;
    expect(decodeCommand(serialize({ command }))).toStrictEqual({ command });
    expect(decodeCommand(serialize({ command, partition: 4 }))).toStrictEqual({ command, partition: 4 });
  });

  it('store records written with node:v8 still read', () => {
    expect(decodeStatus(serialize(status))).toStrictEqual(status);
    expect(decodeTimerPayload(serialize(timers['timer-sleep']))).toStrictEqual(timers['timer-sleep']);
    expect(decodeResult(serialize(results['result-failure']))).toStrictEqual(results['result-failure']);
    expect(decodeWaiters(serialize(waiters['waiters-two']))).toStrictEqual(waiters['waiters-two']);
  });
});

describe('bad records', () => {
  function failure(fn: () => unknown): RecordFormatError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(RecordFormatError);
      return err as RecordFormatError;
    }
    throw new Error('expected a RecordFormatError');
  }

  it('a record of an unknown (later) format is refused with its format byte named', () => {
    const bytes = encodeCommand(base);
    bytes[0] = 0x02;
    const err = failure(() => decodeCommand(bytes));
    expect(err.code).toBe(RecordFormatErrorCode.UnknownFormat);
    expect(err.message).toMatch(/log record has format 0x02, which this version of Endure cannot read/);
    const s = encodeStatus(status);
    s[0] = 0x7f;
    expect(failure(() => decodeStatus(s)).message).toMatch(/invocation status record has format 0x7f/);
  });

  it('empty, truncated or garbled bytes are reported as corrupt', () => {
    expect(failure(() => decodeCommand(new Uint8Array())).code).toBe(RecordFormatErrorCode.Corrupt);
    const bytes = encodeCommand(logEntries['invoke-ingress']!.command);
    for (const cut of [1, 2, 10, bytes.length - 1]) {
      expect(failure(() => decodeCommand(bytes.subarray(0, cut))).code, `cut at ${cut}`).toBe(RecordFormatErrorCode.Corrupt);
    }
    expect(failure(() => decodeStatus(Uint8Array.of(0x01, 0xff, 0xff))).code).toBe(RecordFormatErrorCode.Corrupt);
    expect(failure(() => decodeTimerPayload(Uint8Array.of(0xff, 0x0f, 0x99))).code).toBe(RecordFormatErrorCode.Corrupt);
  });

  it('an unknown enum value or command kind is refused, not guessed', () => {
    const w = new BinaryWriter().uint32(0x01);
    w.uint32((17 << 3) | 2).fork().join(); // a command kind of a later version
    expect(failure(() => decodeCommand(w.finish())).message).toMatch(/unknown command kind/);
    const bytes = encodeCommand({ kind: 'op', op: 'kill', id: 'i', now: 1 });
    // LogEntry.op (field 9), length, then Op.op = 2 (kill): make it 9.
    expect(bytes.subarray(0, 5)).toStrictEqual(Uint8Array.of(0x01, (9 << 3) | 2, bytes[2]!, 0x08, 0x02));
    bytes[4] = 9;
    expect(failure(() => decodeCommand(bytes)).message).toMatch(/unknown invocation op 9/);
  });

  it('values the format cannot hold are refused when encoding, and the next record encodes fine', () => {
    expect(failure(() => encodeCommand({ ...base, commandIndex: -1 })).code).toBe(RecordFormatErrorCode.Unencodable);
    expect(failure(() => encodeCommand({ ...base, type: 2 ** 32 })).message).toMatch(/cannot encode log record/);
    expect(failure(() => encodeCommand({ kind: 'outbox-delivered', upTo: 1.5 })).code).toBe(RecordFormatErrorCode.Unencodable);
    expect(failure(() => encodeStatus({ ...status, phase: 'running' as InvocationStatus['phase'] })).message).toMatch(/unknown invocation phase "running"/);
    expect(roundTrip(base)).toStrictEqual({ command: base });
  });
});
