/**
 * Field-level writers and readers of proto/endure/records.proto, for the parts that log entries
 * and store records share (targets, results, sinks, dedup ids). They write the protobuf wire
 * format directly with @bufbuild/protobuf's BinaryWriter and BinaryReader: the same bytes the
 * generated schema reads and writes, without building an intermediate message per record.
 *
 * Readers follow protobuf's rules so that records of a later compatible version still read:
 * fields they do not know are skipped, fields absent take their default, and repeated numbers
 * are accepted packed or not. Numbers of a `uint64` field above 2^53 would not survive as a
 * JavaScript number and are refused.
 */
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import type { FlowTag } from '../flow/model.ts';
import type { Dedup, HandlerType, IngressSink, InvocationResult, ResolvedTarget, ServiceType, SignalResult, Sink } from '../types/index.ts';

/** Wire type of varints: integers, enums. */
export const VARINT = 0;
/** Wire type of 8-byte values: doubles. */
export const I64 = 1;
/** Wire type of length-delimited values: strings, bytes, messages, packed lists. */
export const LEN = 2;

/** The tag of field `field` with wire type `wire`. */
export function tag(field: number, wire: number): number {
  return (field << 3) | wire;
}

// ---- scalars ----

/** Writes a uint64 field from a non-negative safe integer. */
export function putU64(w: BinaryWriter, field: number, n: number): void {
  w.uint32(tag(field, VARINT));
  // A varint is a varint: below 2^32 the cheaper uint32 writer emits the same bytes.
  if (n <= 0xffffffff) w.uint32(n);
  else w.uint64(n);
}

/** Reads a uint64 value as a number. */
export function readU64(r: BinaryReader): number {
  const start = r.pos;
  const n = r.uint32();
  // Up to four varint bytes hold 28 bits: the uint32 reader was exact.
  if (r.pos - start <= 4) return n;
  r.pos = start;
  const big = Number(r.uint64());
  if (!Number.isSafeInteger(big)) throw new Error(`uint64 value above 2^53`);
  return big;
}

/** Writes a packed repeated uint32 field (nothing when empty). */
export function putU32List(w: BinaryWriter, field: number, list: readonly number[]): void {
  if (list.length === 0) return;
  w.uint32(tag(field, LEN)).fork();
  for (const n of list) w.uint32(n);
  w.join();
}

/** Reads one occurrence of a repeated uint32 field, packed (`wire` LEN) or not, into `into`. */
export function readU32List(r: BinaryReader, wire: number, into: number[]): void {
  if (wire !== LEN) {
    into.push(r.uint32());
    return;
  }
  const end = endOf(r);
  while (r.pos < end) into.push(r.uint32());
  if (r.pos !== end) throw new Error('packed field overruns its length');
}

/** Writes a repeated string field. */
export function putStringList(w: BinaryWriter, field: number, list: readonly string[]): void {
  for (const s of list) w.uint32(tag(field, LEN)).string(s);
}

/** Reads the length prefix of an embedded message and returns where it ends. */
export function endOf(r: BinaryReader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new RangeError('premature end of record');
  return end;
}

/** Skips a field this version does not know, and checks nothing overran the message. */
export function skip(r: BinaryReader, t: number): void {
  r.skip(t & 7, t >>> 3);
}

/** Asserts that a message's fields ended exactly at its length. */
export function done(r: BinaryReader, end: number): void {
  if (r.pos !== end) throw new RangeError('field overruns its message');
}

/** Opens an embedded message field: writes its tag and starts its length-delimited body. */
export function open(w: BinaryWriter, field: number): BinaryWriter {
  return w.uint32(tag(field, LEN)).fork();
}

// ---- enums ----

/**
 * A two-way map between a union of strings and protobuf enum numbers (0 is never a value:
 * it is what an absent enum field reads as).
 */
export class EnumCodec<T extends string> {
  readonly #toWire: Map<T, number>;
  readonly #fromWire: (T | undefined)[];

  constructor(
    readonly name: string,
    values: readonly T[],
  ) {
    this.#toWire = new Map(values.map((v, i) => [v, i + 1]));
    this.#fromWire = [undefined, ...values];
  }

  /** The wire number of `value`. */
  encode(value: T): number {
    const n = this.#toWire.get(value);
    if (n === undefined) throw new Error(`unknown ${this.name} ${JSON.stringify(value)}`);
    return n;
  }

  /** The value of wire number `n`. */
  decode(n: number): T {
    const v = this.#fromWire[n];
    if (v === undefined) throw new Error(`unknown ${this.name} ${n}`);
    return v;
  }
}

/** Service types on the wire (also read by the PostgreSQL introspection views). */
export const SERVICE_TYPES = new EnumCodec<ServiceType>('service type', ['SERVICE', 'VIRTUAL_OBJECT', 'WORKFLOW']);
const HANDLER_TYPES = new EnumCodec<Exclude<HandlerType, undefined>>('handler type', ['EXCLUSIVE', 'SHARED', 'WORKFLOW']);

// ---- ResolvedTarget ----

/** Writes a ResolvedTarget message as field `field`. */
export function putTarget(w: BinaryWriter, field: number, t: ResolvedTarget): void {
  open(w, field);
  w.uint32(tag(1, LEN)).string(t.service);
  w.uint32(tag(2, LEN)).string(t.handler);
  if (t.key !== undefined) w.uint32(tag(3, LEN)).string(t.key);
  w.uint32(tag(4, VARINT)).uint32(SERVICE_TYPES.encode(t.serviceType));
  if (t.handlerType !== undefined) w.uint32(tag(5, VARINT)).uint32(HANDLER_TYPES.encode(t.handlerType));
  w.uint32(tag(6, LEN)).string(t.deploymentId);
  w.uint32(tag(7, I64)).double(t.retentionMs);
  if (t.flow !== undefined) {
    open(w, 8);
    w.uint32(tag(1, LEN)).string(t.flow.rule);
    w.uint32(tag(2, LEN)).string(t.flow.limitKey);
    w.uint32(tag(3, VARINT)).sint32(t.flow.priority);
    w.join();
  }
  w.join();
}

/** Reads a ResolvedTarget message (after its tag). */
export function readTarget(r: BinaryReader): ResolvedTarget {
  const end = endOf(r);
  let service = '';
  let handler = '';
  let key: string | undefined;
  let serviceType = 0;
  let handlerType = 0;
  let deploymentId = '';
  let retentionMs = 0;
  let flow: FlowTag | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (8 << 3) | LEN: flow = readFlowTag(r); break;
      case (1 << 3) | LEN: service = r.string(); break;
      case (2 << 3) | LEN: handler = r.string(); break;
      case (3 << 3) | LEN: key = r.string(); break;
      case (4 << 3) | VARINT: serviceType = r.uint32(); break;
      case (5 << 3) | VARINT: handlerType = r.uint32(); break;
      case (6 << 3) | LEN: deploymentId = r.string(); break;
      case (7 << 3) | I64: retentionMs = r.double(); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return {
    service,
    handler,
    key,
    serviceType: SERVICE_TYPES.decode(serviceType),
    handlerType: handlerType === 0 ? undefined : HANDLER_TYPES.decode(handlerType),
    deploymentId,
    retentionMs,
    ...(flow !== undefined ? { flow } : {}),
  };
}

function readFlowTag(r: BinaryReader): FlowTag {
  const end = endOf(r);
  let rule = '';
  let limitKey = '';
  let priority = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: rule = r.string(); break;
      case (2 << 3) | LEN: limitKey = r.string(); break;
      case (3 << 3) | VARINT: priority = r.sint32(); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return { rule, limitKey, priority };
}

// ---- Failure, InvocationResult, SignalResult ----

function putFailure(
  w: BinaryWriter,
  field: number,
  code: number,
  message: string,
  metadata: readonly (readonly [string, string])[] | undefined,
): void {
  open(w, field);
  w.uint32(tag(1, VARINT)).uint32(code);
  w.uint32(tag(2, LEN)).string(message);
  if (metadata !== undefined) {
    open(w, 3);
    for (const [k, v] of metadata) {
      open(w, 1);
      w.uint32(tag(1, LEN)).string(k);
      w.uint32(tag(2, LEN)).string(v);
      w.join();
    }
    w.join();
  }
  w.join();
}

interface Failure {
  code: number;
  message: string;
  metadata: [string, string][] | undefined;
}

function readFailure(r: BinaryReader): Failure {
  const end = endOf(r);
  const f: Failure = { code: 0, message: '', metadata: undefined };
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | VARINT: f.code = r.uint32(); break;
      case (2 << 3) | LEN: f.message = r.string(); break;
      case (3 << 3) | LEN: f.metadata = readMetadata(r, f.metadata ?? []); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return f;
}

function readMetadata(r: BinaryReader, into: [string, string][]): [string, string][] {
  const end = endOf(r);
  while (r.pos < end) {
    const t = r.uint32();
    if (t !== ((1 << 3) | LEN)) {
      skip(r, t);
      continue;
    }
    const hend = endOf(r);
    let k = '';
    let v = '';
    while (r.pos < hend) {
      const ht = r.uint32();
      switch (ht) {
        case (1 << 3) | LEN: k = r.string(); break;
        case (2 << 3) | LEN: v = r.string(); break;
        default: skip(r, ht);
      }
    }
    done(r, hend);
    into.push([k, v]);
  }
  done(r, end);
  return into;
}

/** Writes an InvocationResult message as field `field`. */
export function putResult(w: BinaryWriter, field: number, result: InvocationResult): void {
  open(w, field);
  if (result.ok) w.uint32(tag(1, LEN)).bytes(result.value);
  else putFailure(w, 2, result.code, result.message, result.metadata);
  w.join();
}

/** Reads an InvocationResult message (after its tag). */
export function readResult(r: BinaryReader): InvocationResult {
  return readResultBody(r, endOf(r));
}

/** Reads the fields of an InvocationResult message that ends at `end`. */
export function readResultBody(r: BinaryReader, end: number): InvocationResult {
  let result: InvocationResult | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: result = { ok: true, value: r.bytes() }; break;
      case (2 << 3) | LEN: {
        const f = readFailure(r);
        result = f.metadata === undefined
          ? { ok: false, code: f.code, message: f.message }
          : { ok: false, code: f.code, message: f.message, metadata: f.metadata };
        break;
      }
      default: skip(r, t);
    }
  }
  done(r, end);
  if (result === undefined) throw new Error('result has neither value nor failure');
  return result;
}

/** Writes an InvocationResult as the fields of the enclosing message (a record of its own). */
export function putResultBody(w: BinaryWriter, result: InvocationResult): void {
  if (result.ok) w.uint32(tag(1, LEN)).bytes(result.value);
  else putFailure(w, 2, result.code, result.message, result.metadata);
}

/** Writes a SignalResult message as field `field`. */
export function putSignalResult(w: BinaryWriter, field: number, result: SignalResult): void {
  open(w, field);
  switch (result.kind) {
    case 'void': w.uint32(tag(1, LEN)).uint32(0); break;
    case 'value': w.uint32(tag(2, LEN)).bytes(result.value); break;
    case 'failure': putFailure(w, 3, result.code, result.message, undefined); break;
  }
  w.join();
}

/** Reads a SignalResult message (after its tag). */
export function readSignalResult(r: BinaryReader): SignalResult {
  const end = endOf(r);
  let result: SignalResult | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: r.skip(LEN); result = { kind: 'void' }; break;
      case (2 << 3) | LEN: result = { kind: 'value', value: r.bytes() }; break;
      case (3 << 3) | LEN: {
        const f = readFailure(r);
        result = { kind: 'failure', code: f.code, message: f.message };
        break;
      }
      default: skip(r, t);
    }
  }
  done(r, end);
  if (result === undefined) throw new Error('signal result has no kind');
  return result;
}

// ---- Sink, Dedup ----

/** Writes an IngressSink message as field `field`. */
export function putIngressSink(w: BinaryWriter, field: number, sink: IngressSink): void {
  open(w, field);
  w.uint32(tag(1, LEN)).string(sink.node);
  putU64(w, 2, sink.requestId);
  w.join();
}

/** Reads an IngressSink message (after its tag). */
export function readIngressSink(r: BinaryReader): IngressSink {
  const end = endOf(r);
  let node = '';
  let requestId = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: node = r.string(); break;
      case (2 << 3) | VARINT: requestId = readU64(r); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return { kind: 'ingress', node, requestId };
}

/** Writes a Sink message as field `field`. */
export function putSink(w: BinaryWriter, field: number, sink: Sink): void {
  open(w, field);
  if (sink.kind === 'ingress') {
    putIngressSink(w, 1, sink);
  } else if (sink.kind === 'schedule') {
    open(w, 3);
    w.uint32(tag(1, LEN)).string(sink.id);
    w.uint32(tag(2, VARINT)).uint32(sink.partition);
    w.join();
  } else {
    open(w, 2);
    w.uint32(tag(1, LEN)).string(sink.id);
    w.uint32(tag(2, VARINT)).uint32(sink.partition);
    w.uint32(tag(3, VARINT)).uint32(sink.completionId);
    if (sink.notificationType !== undefined) w.uint32(tag(4, VARINT)).uint32(sink.notificationType);
    w.join();
  }
  w.join();
}

/** Reads a Sink message (after its tag). */
export function readSink(r: BinaryReader): Sink {
  const end = endOf(r);
  let sink: Sink | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: sink = readIngressSink(r); break;
      case (2 << 3) | LEN: sink = readInvocationSink(r); break;
      case (3 << 3) | LEN: sink = readScheduleSink(r); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  if (sink === undefined) throw new Error('sink has no kind');
  return sink;
}

function readScheduleSink(r: BinaryReader): Sink {
  const end = endOf(r);
  let id = '';
  let partition = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: partition = r.uint32(); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return { kind: 'schedule', id, partition };
}

function readInvocationSink(r: BinaryReader): Sink {
  const end = endOf(r);
  let id = '';
  let partition = 0;
  let completionId = 0;
  let notificationType: number | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: id = r.string(); break;
      case (2 << 3) | VARINT: partition = r.uint32(); break;
      case (3 << 3) | VARINT: completionId = r.uint32(); break;
      case (4 << 3) | VARINT: notificationType = r.uint32(); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return notificationType === undefined
    ? { kind: 'invocation', id, partition, completionId }
    : { kind: 'invocation', id, partition, completionId, notificationType };
}

/** Writes a Dedup message as field `field`. */
export function putDedup(w: BinaryWriter, field: number, dedup: Dedup): void {
  open(w, field);
  w.uint32(tag(1, LEN)).string(dedup.producer);
  putU64(w, 2, dedup.seq);
  w.join();
}

/** Reads a Dedup message (after its tag). */
export function readDedup(r: BinaryReader): Dedup {
  const end = endOf(r);
  let producer = '';
  let seq = 0;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case (1 << 3) | LEN: producer = r.string(); break;
      case (2 << 3) | VARINT: seq = readU64(r); break;
      default: skip(r, t);
    }
  }
  done(r, end);
  return { producer, seq };
}
