/**
 * The envelope of every record Endure stores (log entries, outbox messages, invocation status,
 * timer payloads, promise records): one format byte, then the record. Format 1 is protobuf
 * (proto/endure/records.proto); 0xFF marks a record written before that format by `node:v8`
 * (whose serialisation header always starts with 0xFF), read so that an upgraded server opens
 * an existing data directory, and never written. A reader meeting any other format byte refuses
 * the record with a clear error instead of guessing.
 */
import { deserialize } from 'node:v8';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';

/** The format bytes this version knows. */
export const RecordFormat = {
  /** Protobuf messages of proto/endure/records.proto: written and read. */
  Protobuf1: 0x01,
  /** `node:v8` serialisation of Endure before the protobuf format: read only. */
  LegacyV8: 0xff,
} as const;

/** Stable codes of records that cannot be written or read. */
export const RecordFormatErrorCode = {
  /** A value that the record format cannot hold (say a negative count). */
  Unencodable: 'RECORD_UNENCODABLE',
  /** A format byte this version does not know: written by a newer version of Endure. */
  UnknownFormat: 'RECORD_UNKNOWN_FORMAT',
  /** Bytes that do not decode as the record they should hold. */
  Corrupt: 'RECORD_CORRUPT',
} as const;
/** A record format error code. */
export type RecordFormatErrorCode = (typeof RecordFormatErrorCode)[keyof typeof RecordFormatErrorCode];

/** A record could not be encoded or decoded. Never retryable: the same bytes fail the same way. */
export class RecordFormatError extends Error {
  constructor(
    readonly code: RecordFormatErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordFormatError';
  }
}

// One writer serves every encode: encoding is synchronous, so no two encodes interleave, and
// reusing its buffer spares an allocation per record. A record above this size gets the writer
// replaced afterwards, so that one large body does not stay allocated.
const KEEP_BUFFER_BYTES = 64 * 1024;
let writer = new BinaryWriter();

/**
 * Encodes one record: `write` puts the message's fields on the writer after the format byte.
 * `what` names the record in errors.
 */
export function writeRecord<T>(what: string, value: T, write: (w: BinaryWriter, value: T) => void): Uint8Array {
  const w = writer;
  try {
    w.uint32(RecordFormat.Protobuf1);
    write(w, value);
  } catch (err) {
    writer = new BinaryWriter();
    throw new RecordFormatError(RecordFormatErrorCode.Unencodable, `cannot encode ${what} record: ${message(err)}`, { cause: err });
  }
  const bytes = w.finish();
  if (bytes.length > KEEP_BUFFER_BYTES) writer = new BinaryWriter();
  return bytes;
}

/**
 * Decodes one record of any format this version reads: `read` gets a reader positioned after
 * the format byte and must consume the rest; `legacy` converts what `node:v8` gives back for a
 * record of the previous format.
 */
export function readRecord<T>(
  what: string,
  bytes: Uint8Array,
  read: (r: BinaryReader, end: number) => T,
  legacy: (value: unknown) => T,
): T {
  const format = bytes[0];
  if (format === RecordFormat.Protobuf1) {
    try {
      // A plain view, so that the byte fields of the record are Uint8Arrays even when the
      // driver hands over a Buffer.
      const r = new BinaryReader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      r.pos = 1;
      return read(r, bytes.length);
    } catch (err) {
      throw corrupt(what, err);
    }
  }
  if (format === RecordFormat.LegacyV8) {
    let value: unknown;
    try {
      value = deserialize(bytes);
    } catch (err) {
      throw corrupt(what, err);
    }
    return legacy(value);
  }
  if (format === undefined) throw corrupt(what, new Error('no bytes'));
  throw new RecordFormatError(
    RecordFormatErrorCode.UnknownFormat,
    `${what} record has format 0x${format.toString(16).padStart(2, '0')}, which this version of Endure cannot read (written by a newer version?)`,
  );
}

/** The error for bytes that do not decode as the record they should be. */
export function corrupt(what: string, cause: unknown): RecordFormatError {
  if (cause instanceof RecordFormatError) return cause;
  return new RecordFormatError(RecordFormatErrorCode.Corrupt, `corrupt ${what} record: ${message(cause)}`, { cause });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
