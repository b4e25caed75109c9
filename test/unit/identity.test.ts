// The SDK needs Promise.withResolvers (Node 22+); install it before the SDK is loaded.
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function withResolvers<T>(this: PromiseConstructor) {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new this<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
};

import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttp1Server, type Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiscoveryError,
  DiscoveryErrorCode,
  MessageType,
  RequestIdentity,
  RequestIdentityError,
  TransportError,
  TransportErrorCode,
  audienceOf,
  closeAllSessions,
  discoverEndpoint,
  encodeMessageFrame,
  openInvocationStream,
  type Frame,
} from '../../src/protocol/index.ts';

const ROOT = join(import.meta.dirname, '../..');

/** A fresh Ed25519 private key in PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it. */
function ed25519Pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function decodeJwt(jwt: string): { header: Record<string, unknown>; claims: Record<string, number | string>; signingInput: string; signature: Buffer } {
  const [h, c, s] = jwt.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, number | string>,
    signingInput: `${h}.${c}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

describe('request identity keys', () => {
  // Key pairs published with Restate's signer and its end-to-end tests: the same private key
  // must give the same `publickeyv1_` key that Restate prints.
  it('derives the publickeyv1_ form of a key exactly as Restate does', () => {
    const a = RequestIdentity.fromPem(
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPe++4ZTPQDF81otpoU/mOGHC2vOAVp9WbiCblvn3nXO\n-----END PRIVATE KEY-----\n',
    );
    expect(a.publicKey).toBe('publickeyv1_AfQwmwfgEZhrWpvv8N52SHpRtZqGGaFr4AZN6qtYWSiY');
    const b = RequestIdentity.fromPem(
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHsQRVQ+AZX9/Yy1b0Zw+OA+bb7xDxGsAd5kB45jZhoc\n-----END PRIVATE KEY-----\n',
    );
    expect(b.publicKey).toBe('publickeyv1_ChjENKeMvCtRnqG2mrBK1HmPKufgFUc98K8B3ononQvp');
  });

  it('signs a JWT with kid, EdDSA and the request path as audience, valid one minute either side', () => {
    const pem = ed25519Pem();
    const identity = RequestIdentity.fromPem(pem);
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const headers = identity.headers('/prefix/invoke/Greeter/greet', now);
    expect(headers['x-restate-signature-scheme']).toBe('v1');
    const jwt = decodeJwt(headers['x-restate-jwt-v1'] as string);
    expect(jwt.header).toEqual({ typ: 'JWT', alg: 'EdDSA', kid: identity.publicKey });
    const s = now / 1000;
    expect(jwt.claims).toEqual({ aud: '/invoke/Greeter/greet', iat: s, nbf: s - 60, exp: s + 60 });
    const publicKey = createPublicKey(pem);
    expect(verify(null, Buffer.from(jwt.signingInput), publicKey, jwt.signature)).toBe(true);
    expect(verify(null, Buffer.from(`${jwt.signingInput}x`), publicKey, jwt.signature)).toBe(false);
  });

  it('uses the path from /invoke or /discover on as audience, like the SDK verifier', () => {
    expect(audienceOf('/invoke/a/b')).toBe('/invoke/a/b');
    expect(audienceOf('/foo/bar/invoke/a/b')).toBe('/invoke/a/b');
    expect(audienceOf('/discover')).toBe('/discover');
    expect(audienceOf('/foo/bar/discover')).toBe('/discover');
    expect(audienceOf('/foo/invoke/a')).toBe('/foo/invoke/a');
    expect(audienceOf('/')).toBe('/');
  });

  it('refuses keys that are not exactly one Ed25519 private key, with a clear message', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const cases: Array<[string, RegExp]> = [
      [rsa, /holds a rsa key; request identity needs an Ed25519 key/],
      [ed25519Pem() + ed25519Pem(), /exactly one PEM block .* found 2/],
      ['not a key at all', /exactly one PEM block .* found 0/],
      ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /is not a readable private key/],
    ];
    for (const [pem, message] of cases) {
      const err = (() => {
        try {
          RequestIdentity.fromPem(pem);
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(RequestIdentityError);
      expect((err as Error).message).toMatch(message);
    }
    expect(() => RequestIdentity.fromPemFile('/nonexistent/key.pem')).toThrow(/cannot read the request identity key file '\/nonexistent\/key.pem'/);
  });
});

describe('against an SDK endpoint that verifies request identity', () => {
  let server: Http2Server;
  let url: string;
  let h1Server: Server;
  let h1Url: string;
  let identity: RequestIdentity;
  let stranger: RequestIdentity;

  beforeAll(async () => {
    identity = RequestIdentity.fromPem(ed25519Pem());
    stranger = RequestIdentity.fromPem(ed25519Pem());
    const restate = await import('@restatedev/restate-sdk');
    const greeter = restate.service({
      name: 'Greeter',
      handlers: { greet: async (_ctx: unknown, name: string) => `Hello ${name}` },
    });
    server = createHttp2Server(
      restate.createEndpointHandler({ services: [greeter], identityKeys: [identity.publicKey], logger: () => undefined }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    h1Server = createHttp1Server(
      restate.createEndpointHandler({ services: [greeter], identityKeys: [identity.publicKey], logger: () => undefined }),
    );
    await new Promise<void>((resolve) => h1Server.listen(0, '127.0.0.1', resolve));
    h1Url = `http://127.0.0.1:${(h1Server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    closeAllSessions();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    h1Server?.closeAllConnections();
    await new Promise<void>((resolve) => (h1Server ? h1Server.close(() => resolve()) : resolve()));
  });

  it('discovery signed with the configured key is accepted', async () => {
    const manifest = await discoverEndpoint(url, { identity });
    expect(manifest.services.map((s) => s.name)).toEqual(['Greeter']);
    // Behind a path prefix the audience is still the path from /discover on.
    const prefixed = await discoverEndpoint(`${url}/behind/a/proxy`, { identity });
    expect(prefixed.services.map((s) => s.name)).toEqual(['Greeter']);
  });

  it('discovery signed with another key, or unsigned, is refused with 401', async () => {
    for (const opts of [{ identity: stranger }, {}]) {
      const err = await discoverEndpoint(url, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DiscoveryError);
      expect((err as DiscoveryError).code).toBe(DiscoveryErrorCode.BadStatus);
      expect((err as DiscoveryError).status).toBe(401);
    }
  });

  async function greet(signer: RequestIdentity | undefined, useHttp11 = false): Promise<Frame[]> {
    const stream = openInvocationStream({
      url: useHttp11 ? h1Url : url,
      service: 'Greeter',
      handler: 'greet',
      protocolVersion: 6,
      mode: 'request-response',
      useHttp11,
      identity: signer,
    });
    stream.write(encodeMessageFrame(MessageType.Start, { id: new Uint8Array(24).map((_, i) => i + 1), debugId: 'inv_test', knownEntries: 1 }));
    stream.write(
      encodeMessageFrame(MessageType.InputCommand, {
        headers: [{ key: 'content-type', value: 'application/json' }],
        value: { content: new TextEncoder().encode('"Ada"') },
      }),
    );
    stream.endInput();
    const frames: Frame[] = [];
    for await (const f of stream.frames()) frames.push(f);
    return frames;
  }

  it('an invocation signed with the configured key runs, over HTTP/2 and HTTP/1.1', async () => {
    for (const useHttp11 of [false, true]) {
      const frames = await greet(identity, useHttp11);
      expect(frames.map((f) => f.type)).toContain(MessageType.OutputCommand);
    }
  });

  it('an invocation signed with another key, or unsigned, is refused with 401', async () => {
    for (const useHttp11 of [false, true]) {
      for (const signer of [stranger, undefined]) {
        const err = await greet(signer, useHttp11).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TransportError);
        expect((err as TransportError).code).toBe(TransportErrorCode.BadStatus);
        expect((err as TransportError).status).toBe(401);
      }
    }
  });
});

describe('endure server with a request identity key', () => {
  function run(args: string[], stopWhen: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/endure.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        if (stopWhen.test(stdout)) child.kill('SIGTERM');
      });
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'endure-identity-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the publickeyv1_ key of the configured private key at start-up', async () => {
    const pem = ed25519Pem();
    const keyFile = join(dir, 'identity.pem');
    writeFileSync(keyFile, pem);
    const expected = RequestIdentity.fromPem(pem).publicKey;
    const args = ['server', '--data-dir', join(dir, 'data'), '--ingress-bind', '127.0.0.1:0', '--admin-bind', '127.0.0.1:0'];
    const r = await run([...args, '--partitions', '2', '--request-identity-private-key-pem-file', keyFile], /endure started/);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`withIdentityV1(\\"${expected}\\")`);
  }, 60_000);

  it('refuses to start with a key file it cannot use, saying why', async () => {
    const keyFile = join(dir, 'not-a-key.pem');
    writeFileSync(keyFile, 'hello');
    const r = await run(['server', '--data-dir', join(dir, 'data2'), '--request-identity-private-key-pem-file', keyFile], /endure started/);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`request identity: '${keyFile}' must hold exactly one PEM block with the private key, found 0`);
  }, 60_000);
});
