import { createHash } from 'node:crypto';

/**
 * The version of a key's state, as Restate computes it (StateMutationVersion::from_user_state)
 * and its CLI sends with a state mutation: base64url without padding of the SHA-256 of every
 * entry, sorted by key bytes, as u64 big-endian position ‖ 0x01 ‖ key ‖ 0x02 ‖ value ‖ 0x03.
 * A pure function of the state: safe inside apply.
 */
export function stateVersion(entries: readonly (readonly [Uint8Array, Uint8Array])[]): string {
  const sorted = [...entries].sort((a, b) => Buffer.compare(a[0], b[0]));
  const hash = createHash('sha256');
  const position = Buffer.alloc(8);
  sorted.forEach(([key, value], i) => {
    position.writeBigUInt64BE(BigInt(i));
    hash.update(position);
    hash.update(Uint8Array.of(1));
    hash.update(key);
    hash.update(Uint8Array.of(2));
    hash.update(value);
    hash.update(Uint8Array.of(3));
  });
  return hash.digest('base64url');
}
