import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

// Request identity v1, as Restate's server signs and the SDKs verify (`withIdentityV1`): every
// request to a service carries `x-restate-signature-scheme: v1` and `x-restate-jwt-v1`, a JWT
// signed with Ed25519 (alg EdDSA) whose `kid` is the public key as `publickeyv1_<base58>`, and
// whose audience is the request path from `/invoke/…` or `/discover` on. Without a key the
// scheme header says `unsigned`.

const SCHEME_HEADER = 'x-restate-signature-scheme';
const JWT_HEADER = 'x-restate-jwt-v1';
const PUBLIC_KEY_PREFIX = 'publickeyv1_';
/** Validity of a token on either side of its issue time (the SDK allows no leeway). */
const VALIDITY_SECONDS = 60;

/** Headers of a request sent without a configured key. */
export const UNSIGNED_IDENTITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [SCHEME_HEADER]: 'unsigned' });

/** A request identity key could not be loaded. */
export class RequestIdentityError extends Error {
  readonly code = 'ENDURE_REQUEST_IDENTITY_KEY_INVALID';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RequestIdentityError';
  }
}

/**
 * The server's request identity: an Ed25519 private key that signs every request to a service
 * (discovery and invocations), so that a service configured with the matching public key
 * refuses requests from anyone else.
 */
export class RequestIdentity {
  /** The public key in the form services are configured with: `publickeyv1_…`. */
  readonly publicKey: string;
  readonly #key: KeyObject;
  readonly #jwtHeader: string;

  private constructor(key: KeyObject) {
    this.#key = key;
    const jwk = createPublicKey(key).export({ format: 'jwk' });
    const raw = Buffer.from(String(jwk.x), 'base64url');
    this.publicKey = PUBLIC_KEY_PREFIX + base58(raw);
    this.#jwtHeader = base64url(JSON.stringify({ typ: 'JWT', alg: 'EdDSA', kid: this.publicKey }));
  }

  /** Reads a PEM file holding exactly one Ed25519 private key (PKCS#8, `BEGIN PRIVATE KEY`). */
  static fromPemFile(path: string): RequestIdentity {
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      throw new RequestIdentityError(`cannot read the request identity key file '${path}': ${(err as Error).message}`, { cause: err });
    }
    return RequestIdentity.fromPem(pem, `'${path}'`);
  }

  /** Parses PEM text holding exactly one Ed25519 private key; `source` names it in errors. */
  static fromPem(pem: string, source = 'the PEM text'): RequestIdentity {
    const blocks = pem.match(/-----BEGIN [A-Z0-9 ]+-----/g) ?? [];
    if (blocks.length !== 1) {
      throw new RequestIdentityError(`${source} must hold exactly one PEM block with the private key, found ${blocks.length}`);
    }
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (err) {
      throw new RequestIdentityError(`${source} is not a readable private key: ${(err as Error).message}`, { cause: err });
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new RequestIdentityError(
        `${source} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key; request identity needs an Ed25519 key (openssl genpkey -algorithm ed25519)`,
      );
    }
    return new RequestIdentity(key);
  }

  /** The identity headers of a request to `path` (the request's path on the deployment). */
  headers(path: string, nowMs: number = Date.now()): Record<string, string> {
    const now = Math.floor(nowMs / 1000);
    const claims = base64url(
      JSON.stringify({ aud: audienceOf(path), exp: now + VALIDITY_SECONDS, iat: now, nbf: now - VALIDITY_SECONDS }),
    );
    const signingInput = `${this.#jwtHeader}.${claims}`;
    const signature = sign(null, Buffer.from(signingInput), this.#key).toString('base64url');
    return { [SCHEME_HEADER]: 'v1', [JWT_HEADER]: `${signingInput}.${signature}` };
  }
}

/** The identity headers of a request to `path`: signed with `identity`, or marked unsigned. */
export function identityHeaders(identity: RequestIdentity | undefined, path: string): Readonly<Record<string, string>> {
  return identity ? identity.headers(path) : UNSIGNED_IDENTITY_HEADERS;
}

/**
 * The audience a verifier expects for a request path: from the last `/invoke/{service}/{handler}`
 * or the final `/discover` on, so a deployment URL's path prefix is not part of it.
 */
export function audienceOf(path: string): string {
  const segments = path.split('/');
  const n = segments.length;
  if (n >= 4 && segments[n - 3] === 'invoke') return `/${segments.slice(n - 3).join('/')}`;
  if (n >= 2 && segments[n - 1] === 'discover') return '/discover';
  return path;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Base58 with the Bitcoin alphabet: each leading zero byte becomes a leading `1`. */
function base58(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = BASE58_ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}
