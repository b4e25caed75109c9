import { ProtocolError, ProtocolErrorCode } from './errors.ts';

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

/** The REQUESTED_ACK bit of the flags field (only meaningful on ProposeRunCompletion). */
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

/**
 * Splits a byte stream into frames, whatever the chunk boundaries. Partial input is kept as a
 * list of chunks and joined only once a whole frame is there, so a large frame arriving in many
 * small chunks costs linear, not quadratic, copying. Bodies are fresh copies, safe to keep.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Uint8Array[] = [];
  /** Index of the first chunk with unread bytes (chunks before it are spent). */
  #head = 0;
  /** Offset of unread bytes in the head chunk. */
  #offset = 0;
  /** Unread bytes over all chunks. */
  #size = 0;
  /** Header of the frame being waited for, once its 8 bytes were read (length -1: none yet). */
  #type = 0;
  #flags = 0;
  #length = -1;

  constructor(opts: { readonly maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** Feeds a chunk; returns the frames it completed. Throws ProtocolError on an oversized frame. */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    if (chunk.length === 0) return frames;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    for (;;) {
      if (this.#length < 0) {
        if (this.#size < HEADER_BYTES) break;
        const h = this.#read(HEADER_BYTES);
        this.#type = ((h[0] as number) << 8) | (h[1] as number);
        this.#flags = ((h[2] as number) << 8) | (h[3] as number);
        this.#length = (((h[4] as number) << 24) >>> 0) + (((h[5] as number) << 16) | ((h[6] as number) << 8) | (h[7] as number));
        if (this.#length > this.#maxFrameBytes) {
          throw new ProtocolError(
            ProtocolErrorCode.FrameTooLarge,
            `frame of type 0x${this.#type.toString(16)} announces ${this.#length} bytes, above the limit of ${this.#maxFrameBytes}`,
          );
        }
      }
      if (this.#size < this.#length) break;
      frames.push({ type: this.#type, flags: this.#flags, body: this.#read(this.#length) });
      this.#length = -1;
    }
    return frames;
  }

  /** Bytes received and not yet returned as frames (a header already read counts). */
  get pending(): number {
    return this.#size + (this.#length >= 0 ? HEADER_BYTES : 0);
  }

  /** Consumes the next n buffered bytes (n <= #size) into a fresh array. */
  #read(n: number): Uint8Array {
    const first = this.#chunks[this.#head];
    if (first !== undefined && first.length - this.#offset >= n) {
      // Fast path: all n bytes sit in the first chunk.
      const out = first.slice(this.#offset, this.#offset + n);
      this.#advance(first, n);
      return out;
    }
    const out = new Uint8Array(n);
    let written = 0;
    while (written < n) {
      const chunk = this.#chunks[this.#head] as Uint8Array;
      const count = Math.min(n - written, chunk.length - this.#offset);
      out.set(chunk.subarray(this.#offset, this.#offset + count), written);
      written += count;
      this.#advance(chunk, count);
    }
    return out;
  }

  #advance(chunk: Uint8Array, n: number): void {
    this.#offset += n;
    this.#size -= n;
    if (this.#offset === chunk.length) {
      this.#offset = 0;
      this.#head++;
      if (this.#head === this.#chunks.length) {
        this.#chunks = [];
        this.#head = 0;
      } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
        // Drop spent chunks once they are the majority: amortised O(1) per chunk.
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
    }
  }
}
