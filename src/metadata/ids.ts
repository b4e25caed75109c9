import { randomBytes } from 'node:crypto';

// Deployment ids have Restate's shape, so that Restate's tools (the `restate` CLI, the UI) can
// parse them: `dp_`, the id scheme version `1`, then a ULID (48-bit creation time in ms, 80
// random bits) as a u128 in 22 base62 characters. Restate converts the u128 to big-endian
// before encoding it on a little-endian host, so the number encoded is the ULID's bytes read in
// little-endian order; doing the same keeps the ULID recoverable by Restate's decoder.

// The "alternative" base62 alphabet (digits, lower case, upper case), as Restate's ids use.
const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PREFIX = 'dp_1';
const ULID_CHARS = 22;
const U128_LIMIT = 1n << 128n;
const RESTATE_SHAPE = /^dp_1[0-9a-zA-Z]{22}$/;
/** Ids made before deployment ids took Restate's shape: `dp_` and 26 base62 characters. */
const LEGACY_SHAPE = /^dp_[0-9A-Za-z]{26}$/;

function littleEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  return v;
}

function base62(value: bigint, width: number): string {
  let out = '';
  let v = value;
  while (v > 0n) {
    out = BASE62[Number(v % 62n)] + out;
    v /= 62n;
  }
  return out.padStart(width, '0');
}

/** The 16 bytes of a ULID: big-endian creation time in ms (6 bytes), then 10 random bytes. */
function ulidBytes(nowMs: number): Uint8Array {
  const bytes = new Uint8Array(16);
  let t = BigInt(Math.max(0, Math.floor(nowMs)));
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  bytes.set(randomBytes(10), 6);
  return bytes;
}

/** A new deployment id in Restate's shape, e.g. `dp_11lTZoV3qOSWlOJF20thdDj`. */
export function newDeploymentId(nowMs: number = Date.now()): string {
  return PREFIX + base62(littleEndian(ulidBytes(nowMs)), ULID_CHARS);
}

/**
 * Whether `text` can be a deployment id: Restate's shape, or the older shape of ids stored
 * before (those stay valid: a registered deployment keeps its id).
 */
export function isDeploymentIdShape(text: string): boolean {
  if (LEGACY_SHAPE.test(text)) return true;
  if (!RESTATE_SHAPE.test(text)) return false;
  let v = 0n;
  for (const c of text.slice(PREFIX.length)) v = v * 62n + BigInt(BASE62.indexOf(c));
  return v < U128_LIMIT;
}
