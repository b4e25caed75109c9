import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A new deployment id: `dp_` and 26 random base62 characters (~154 bits). */
export function newDeploymentId(): string {
  let out = 'dp_';
  while (out.length < 29) {
    for (const byte of randomBytes(32)) {
      // 248 = 4 * 62: rejecting larger bytes keeps the characters uniformly distributed.
      if (byte < 248 && out.length < 29) out += BASE62[byte % 62];
    }
  }
  return out;
}
