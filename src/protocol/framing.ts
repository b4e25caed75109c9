import { ProtocolError } from './errors.ts';

/** Message type codes of the service protocol (16-bit frame header field). */
export const MessageType = {
  Start: 0x0000,
  Suspension: 0x0001,
  Error: 0x0002,
  End: 0x0003,
  ProposeRunCompletion: 0x0005,
  AwaitingOn: 0x0006,
  ProposeRunCompletionAck: 0x0007,
  InputCommand: 0x0400,
  OutputCommand: 0x0401,
  GetLazyStateCommand: 0x0402,
  SetStateCommand: 0x0403,
  ClearStateCommand: 0x0404,
  ClearAllStateCommand: 0x0405,
  GetLazyStateKeysCommand: 0x0406,
  GetEagerStateCommand: 0x0407,
  GetEagerStateKeysCommand: 0x0408,
  GetPromiseCommand: 0x0409,
  PeekPromiseCommand: 0x040a,
  CompletePromiseCommand: 0x040b,
  SleepCommand: 0x040c,
  CallCommand: 0x040d,
  OneWayCallCommand: 0x040e,
  SendSignalCommand: 0x0410,
  RunCommand: 0x0411,
  AttachInvocationCommand: 0x0412,
  GetInvocationOutputCommand: 0x0413,
  CompleteAwakeableCommand: 0x0414,
  GetLazyStateCompletionNotification: 0x8002,
  GetLazyStateKeysCompletionNotification: 0x8006,
  GetPromiseCompletionNotification: 0x8009,
  PeekPromiseCompletionNotification: 0x800a,
  CompletePromiseCompletionNotification: 0x800b,
  SleepCompletionNotification: 0x800c,
  CallCompletionNotification: 0x800d,
  CallInvocationIdCompletionNotification: 0x800e,
  RunCompletionNotification: 0x8011,
  AttachInvocationCompletionNotification: 0x8012,
  GetInvocationOutputCompletionNotification: 0x8013,
  SignalNotification: 0xfbff,
} as const;

/** A known message type code. */
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** The REQUESTED_ACK bit of the flags field (meaningful for ProposeRunCompletion in V7). */
export const REQUESTED_ACK_FLAG = 0x8000;

const HEADER_BYTES = 8;
/** Frames above this are refused: a broken peer must not make us buffer without bound. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** One protocol message as it travels on the stream. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly body: Uint8Array;
}

/** Custom entries: opaque to the server, journaled and replayed as they are. */
export function isCustomEntry(type: number): boolean {
  return (type & 0xfc00) === 0xfc00;
}

/** Commands are journaled; they come from the SDK (or the Input command, from us). */
export function isCommand(type: number): boolean {
  return (type >= 0x0400 && type < 0x8000) || isCustomEntry(type);
}

/** Notifications are journaled completions and signals, produced by the server. */
export function isNotification(type: number): boolean {
  return type >= 0x8000 && type <= 0xfbff;
}

/** Encodes one frame: 8-byte big-endian header (type, flags, length) then the body. */
export function encodeFrame(type: number, body: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, flags);
  view.setUint32(4, body.length);
  out.set(body, HEADER_BYTES);
  return out;
}

/** Splits a byte stream into frames, whatever the chunk boundaries. */
export class FrameDecoder {
  #buffer: Uint8Array = new Uint8Array(0);

  /** Feeds a chunk; returns the frames it completed. */
  push(chunk: Uint8Array): Frame[] {
    let buf = this.#buffer.length === 0 ? chunk : concat(this.#buffer, chunk);
    const frames: Frame[] = [];
    let offset = 0;
    while (buf.length - offset >= HEADER_BYTES) {
      const view = new DataView(buf.buffer, buf.byteOffset + offset, HEADER_BYTES);
      const length = view.getUint32(4);
      if (length > MAX_FRAME_BYTES) throw new ProtocolError(`frame of ${length} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
      if (buf.length - offset < HEADER_BYTES + length) break;
      const start = offset + HEADER_BYTES;
      frames.push({ type: view.getUint16(0), flags: view.getUint16(2), body: buf.slice(start, start + length) });
      offset = start + length;
    }
    buf = offset === buf.length ? new Uint8Array(0) : buf.slice(offset);
    this.#buffer = buf;
    return frames;
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get pending(): number {
    return this.#buffer.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
