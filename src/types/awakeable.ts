import { IdDecodeError, formatInvocationId, invocationIdFromBytes } from './ids.ts';

const PREFIXES = ['sign_1', 'prom_1'];

/**
 * Awakeable ids as SDKs build them: `sign_1` (or the older `prom_1`) followed by the unpadded
 * base64url of the raw 24-byte invocation id and a big-endian u32 signal index.
 */
export function parseAwakeableId(text: string): { invocationId: string; signal: number } {
  const prefix = PREFIXES.find((p) => text.startsWith(p));
  if (!prefix) throw new IdDecodeError(`expected prefix '${PREFIXES[0]}'`);
  const body = text.slice(prefix.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new IdDecodeError('not base64url');
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.length !== 28) throw new IdDecodeError(`expected 28 bytes, got ${bytes.length}`);
  const invocationId = formatInvocationId(invocationIdFromBytes(new Uint8Array(bytes.subarray(0, 24))));
  return { invocationId, signal: bytes.readUInt32BE(24) };
}
