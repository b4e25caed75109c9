import { createHash, randomBytes } from 'node:crypto';

/**
 * Invocation ids carry their partition key, so any node can route a request for an id to the
 * partition that owns it without a lookup. Raw form (24 bytes, what the SDK receives in
 * `StartMessage.id` and embeds in awakeable ids): u64 partition key, big-endian, then a 16-byte
 * uuid. Text form: `inv_1` + base62(partition key, 11 chars) + base62(uuid, 22 chars).
 */
export interface InvocationId {
  readonly partitionKey: bigint;
  readonly uuid: Uint8Array;
}

// The "alternative" base62 alphabet (digits, lower case, upper case), as Restate's ids use.
const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PK_CHARS = 11;
const UUID_CHARS = 22;
const PREFIX = 'inv_1';
const U64_MAX = (1n << 64n) - 1n;

/** Thrown by the id parsers; the ingress maps it to 400. */
export class IdDecodeError extends Error {
  readonly code = 'ID_DECODE';
  constructor(message: string) {
    super(message);
    this.name = 'IdDecodeError';
  }
}

/** BigInt arithmetic is slow: the digits go five at a time (62^5 < 2^31) through plain numbers. */
const CHUNK = 5;
const CHUNK_BASE = 62n ** BigInt(CHUNK);
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62.length; i++) DIGIT[BASE62.charCodeAt(i)] = i;

function encodeBase62(value: bigint, width: number): string {
  let out = '';
  let v = value;
  while (v > 0n) {
    let chunk = Number(v % CHUNK_BASE);
    v /= CHUNK_BASE;
    let digits = '';
    for (let i = 0; i < CHUNK; i++) {
      digits = BASE62[chunk % 62] + digits;
      chunk = Math.floor(chunk / 62);
    }
    out = digits + out;
  }
  // Leading zeros of the last chunk, then the padding: both are the digit '0'.
  const trimmed = out.replace(/^0+/, '');
  return trimmed.padStart(width, '0');
}

function decodeBase62(text: string): bigint {
  let v = 0n;
  let i = 0;
  // A first chunk of the odd length, then whole chunks.
  let take = text.length % CHUNK || CHUNK;
  while (i < text.length) {
    let chunk = 0;
    let scale = 1;
    for (const end = i + take; i < end; i++) {
      const code = text.charCodeAt(i);
      const d = code < 128 ? DIGIT[code]! : -1;
      if (d < 0) throw new IdDecodeError(`unexpected character '${text[i]}'`);
      chunk = chunk * 62 + d;
      scale *= 62;
    }
    v = v * BigInt(scale) + BigInt(chunk);
    take = CHUNK;
  }
  return v;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigIntToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Formats an invocation id as text. */
export function formatInvocationId(id: InvocationId): string {
  return PREFIX + encodeBase62(id.partitionKey, PK_CHARS) + encodeBase62(bytesToBigInt(id.uuid), UUID_CHARS);
}

/** Parses the text form; throws IdDecodeError on anything malformed. */
export function parseInvocationId(text: string): InvocationId {
  if (!text.startsWith(PREFIX)) throw new IdDecodeError(`expected prefix '${PREFIX}'`);
  const body = text.slice(PREFIX.length);
  if (body.length !== PK_CHARS + UUID_CHARS) throw new IdDecodeError('bad length');
  const partitionKey = decodeBase62(body.slice(0, PK_CHARS));
  const uuid = decodeBase62(body.slice(PK_CHARS));
  if (partitionKey > U64_MAX || uuid >= 1n << 128n) throw new IdDecodeError('value out of range');
  return { partitionKey, uuid: bigIntToBytes(uuid, 16) };
}

/** The raw 24-byte form sent to SDKs. */
export function invocationIdToBytes(id: InvocationId): Uint8Array {
  const out = new Uint8Array(24);
  out.set(bigIntToBytes(id.partitionKey, 8), 0);
  out.set(id.uuid, 8);
  return out;
}

/** Inverse of invocationIdToBytes. */
export function invocationIdFromBytes(bytes: Uint8Array): InvocationId {
  if (bytes.length !== 24) throw new IdDecodeError('raw invocation id must be 24 bytes');
  return { partitionKey: bytesToBigInt(bytes.subarray(0, 8)), uuid: bytes.slice(8) };
}

/** The partition key of a keyed target: the first 8 bytes of sha256(key). Independent of the service, as in Restate. */
export function partitionKeyOf(key: string): bigint {
  return createHash('sha256').update(key).digest().readBigUInt64BE(0);
}

/** A fresh id for an invocation whose key (if any) decides its partition. Random: call only outside apply. */
export function newInvocationId(key?: string): InvocationId {
  const uuid = randomBytes(16);
  const partitionKey = key !== undefined ? partitionKeyOf(key) : uuid.readBigUInt64BE(0);
  return { partitionKey, uuid };
}

/**
 * A deterministic id derived from `seed` (a parent invocation and journal index, or a target and
 * idempotency key). Safe inside apply: the same seed always gives the same id.
 */
export function deriveInvocationId(seed: string, key: string | undefined, partitionSeed?: string): InvocationId {
  const digest = createHash('sha256').update(seed).digest();
  const uuid = digest.subarray(0, 16);
  const partitionKey =
    key !== undefined
      ? partitionKeyOf(key)
      : partitionSeed !== undefined
        ? partitionKeyOf(partitionSeed)
        : digest.readBigUInt64BE(16);
  return { partitionKey, uuid: new Uint8Array(uuid) };
}

/** The id of a workflow's `run` invocation: one per workflow name and key. */
export function workflowRunId(service: string, key: string): string {
  return formatInvocationId(deriveInvocationId(`workflow:${service}/${key}`, key));
}

/** The id of an invocation submitted with an idempotency key: the same request gets the same id. */
export function idempotentInvocationId(service: string, key: string | undefined, handler: string, idempotencyKey: string): string {
  return formatInvocationId(deriveInvocationId(`${service}/${key ?? ''}/${handler}/${idempotencyKey}`, key, idempotencyKey));
}

/** The text form of invocation ids, for readers outside this module (the PostgreSQL introspection views). */
export { BASE62 as BASE62_ALPHABET, PREFIX as INVOCATION_ID_PREFIX, PK_CHARS as PARTITION_KEY_CHARS, UUID_CHARS };
