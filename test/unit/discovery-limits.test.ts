// Discovery against hostile or broken endpoints: answers far larger than any manifest, endpoints
// that trickle a byte every two seconds, and error pages full of secrets. Each endpoint is a real
// HTTP server on a loopback socket; registration goes through the admin API over a real socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler, startAdminServer, type AdminServer } from '../../src/admin/index.ts';
import { SchemaRegistry } from '../../src/metadata/index.ts';
import { DiscoveryError, DiscoveryErrorCode, discoverEndpoint } from '../../src/protocol/index.ts';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite/db.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';

const MiB = 1024 * 1024;
const MANIFEST_TYPE = 'application/vnd.restate.endpointmanifest.v3+json';
/** What a bomb offers: far beyond any sane manifest, small enough not to hurt the test machine. */
const BOMB_BYTES = 64 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 0x20);

/** Servers and sockets a test started, closed after it. */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Writes `total` bytes of spaces (a JSON prefix first) with backpressure; counts what left. */
function streamBomb(out: NodeJS.WritableStream & { destroyed: boolean }, total: number, sent: { bytes: number }): void {
  const write = (): void => {
    while (sent.bytes < total && !out.destroyed) {
      sent.bytes += CHUNK.length;
      if (!out.write(CHUNK)) {
        out.once('drain', write);
        return;
      }
    }
    if (!out.destroyed) out.end();
  };
  out.on('error', () => undefined);
  out.write('{"services":[');
  write();
}

async function listenHttp1(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function listenHttp2(handler: (stream: ServerHttp2Stream) => void): Promise<{ url: string; server: Http2Server }> {
  const server = createHttp2Server();
  server.on('stream', handler);
  server.on('sessionError', () => undefined);
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function discoveryError(url: string, opts: Parameters<typeof discoverEndpoint>[1] = {}): Promise<DiscoveryError> {
  const err = await discoverEndpoint(url, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DiscoveryError);
  return err as DiscoveryError;
}

describe('discovery answers are bounded', () => {
  it('a streamed HTTP/1.1 answer far beyond the bound fails as too large, and reading stops early', async () => {
    const sent = { bytes: 0 };
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST_TYPE });
      streamBomb(res, BOMB_BYTES, sent);
    });
    const err = await discoveryError(url, { useHttp11: true });
    expect(err.code).toBe(DiscoveryErrorCode.ManifestTooLarge);
    expect(err.message).toMatch(/larger than 4 MiB/);
    expect(err.restateCode).toBe('META0013');
    // The bound applies while reading: the connection is dropped soon after it is passed.
    expect(sent.bytes).toBeLessThan(BOMB_BYTES / 2);
  });

  it('a streamed HTTP/2 answer far beyond the bound fails as too large, and reading stops early', async () => {
    const sent = { bytes: 0 };
    const { url } = await listenHttp2((stream) => {
      stream.respond({ ':status': 200, 'content-type': MANIFEST_TYPE });
      streamBomb(stream, BOMB_BYTES, sent);
    });
    const err = await discoveryError(url);
    expect(err.code).toBe(DiscoveryErrorCode.ManifestTooLarge);
    expect(sent.bytes).toBeLessThan(BOMB_BYTES / 2);
  });

  it('an answer that announces a length beyond the bound is refused before its body is read', async () => {
    const sent = { bytes: 0 };
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'content-length': String(600 * MiB) });
      streamBomb(res, BOMB_BYTES, sent);
    });
    const err = await discoveryError(url, { useHttp11: true });
    expect(err.code).toBe(DiscoveryErrorCode.ManifestTooLarge);
    expect(err.message).toMatch(/announced 629145600 bytes/);
  });
});

describe('discovery has an overall deadline', () => {
  /** An HTTP/1.1 endpoint that answers 200 at once, then sends one byte of its body every 2 s. */
  async function trickler(): Promise<string> {
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST_TYPE });
      res.write('{');
      const timer = setInterval(() => res.write(' '), 2000);
      res.on('close', () => clearInterval(timer));
    });
    return url;
  }

  it('an HTTP/1.1 endpoint trickling a byte every 2 s fails within the deadline', async () => {
    const url = await trickler();
    const started = Date.now();
    const err = await discoveryError(url, { useHttp11: true, timeoutMs: 3000 });
    const took = Date.now() - started;
    expect(err.code).toBe(DiscoveryErrorCode.Timeout);
    expect(err.message).toMatch(/did not answer within 3000 ms/);
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(4500);
  });

  it('the deadline covers the HTTP/2 attempt and the HTTP/1.1 probe together', async () => {
    const url = await trickler();
    const started = Date.now();
    const err = await discoveryError(url, { timeoutMs: 3000 });
    expect(Date.now() - started).toBeLessThan(4500);
    expect([DiscoveryErrorCode.Timeout, DiscoveryErrorCode.Http11Only]).toContain(err.code);
  });

  it('an HTTP/2 endpoint that never finishes its answer fails within the deadline', async () => {
    const { url } = await listenHttp2((stream) => {
      stream.respond({ ':status': 200, 'content-type': MANIFEST_TYPE });
      stream.write('{');
    });
    const started = Date.now();
    const err = await discoveryError(url, { timeoutMs: 2000 });
    expect(err.code).toBe(DiscoveryErrorCode.Timeout);
    expect(Date.now() - started).toBeLessThan(3500);
  });
});

describe('failed discoveries show a short, sanitised excerpt', () => {
  const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvcHMiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlLXNlY3JldC12YWx1ZQ';
  const API_KEY = 'sk_live_51HqLyjWDarjtT1zdp7dcXvHg2Jq3TeEPS';
  const CSRF = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

  /** An internal error page of the kind a proxy or framework shows, with credentials in it. */
  function internalPage(): string {
    return [
      '<!DOCTYPE html><html><head><title>503 Service Unavailable</title>',
      '<style>body { font-family: sans-serif; }</style>',
      `<script>window.__SESSION__ = { token: "${JWT}" };</script></head>`,
      '<body><h1>Service Unavailable</h1><p>The upstream is being deployed.</p>',
      `<pre>Authorization: Bearer ${JWT}\napi_key=${API_KEY}\n</pre>`,
      `<form><input type="hidden" name="csrf" value="${CSRF}"></form>`,
      `<pre>${'stack frame at internal/worker.js:42\n'.repeat(2000)}</pre>`,
      '</body></html>',
    ].join('\n');
  }

  it('a discovery error keeps the status and a short excerpt, and no credential from the page', async () => {
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end(internalPage());
    });
    const err = await discoveryError(url, { useHttp11: true });
    expect(err.code).toBe(DiscoveryErrorCode.BadStatus);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/answered 503/);
    expect(err.message).toMatch(/Service Unavailable/);
    for (const secret of [JWT, API_KEY, CSRF, 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'sk_live_51HqLy']) {
      expect(err.message).not.toContain(secret);
    }
    expect(err.message).not.toMatch(/<[a-z]/i);
    expect(err.message.length).toBeLessThan(400);
  });

  it('an unexpected content type is not echoed in full either', async () => {
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(200, { 'content-type': `text/plain; x=${'a'.repeat(5000)}; token=${JWT}` });
      res.end('{}');
    });
    const err = await discoveryError(url, { useHttp11: true });
    expect(err.code).toBe(DiscoveryErrorCode.BadContentType);
    expect(err.message).not.toContain(JWT);
    expect(err.message.length).toBeLessThan(400);
  });
});

describe('registering such endpoints through the admin API', () => {
  let dir: string;
  let db: SqliteDb;
  let admin: AdminServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'endure-discovery-limits-'));
    db = openSqlite(join(dir, 'endure.db'));
    const registry = await SchemaRegistry.open(new SqliteMetadataStore(db));
    admin = await startAdminServer(
      createAdminHandler({ registry, discover: discoverEndpoint, version: 'test', discoveryTimeoutMs: 3000 }),
      { host: '127.0.0.1', port: 0 },
    );
  });

  afterAll(async () => {
    await admin?.close();
    db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function register(uri: string, useHttp11: boolean): Promise<{ status: number; body: { code: number; message: string; restate_code?: string } }> {
    const res = await fetch(`${admin.url}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri, use_http_11: useHttp11 }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, body: (await res.json()) as { code: number; message: string; restate_code?: string } };
  }

  it('a discovery bomb is answered 413 with a clear message, and the admin API keeps serving', async () => {
    const sent = { bytes: 0 };
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST_TYPE });
      streamBomb(res, BOMB_BYTES, sent);
    });
    const { status, body } = await register(url, true);
    expect(status).toBe(413);
    expect(body.code).toBe(413);
    expect(body.restate_code).toBe('META0013');
    expect(body.message).toContain(`Error when discovering the deployment at '${url}'`);
    expect(body.message).toMatch(/larger than 4 MiB/);
    expect((await fetch(`${admin.url}/health`)).status).toBe(200);
    const list = (await (await fetch(`${admin.url}/deployments`)).json()) as { deployments: unknown[] };
    expect(list.deployments).toEqual([]);
  });

  it('a trickling endpoint fails registration within the deadline and registers nothing', async () => {
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(200, { 'content-type': MANIFEST_TYPE });
      const timer = setInterval(() => res.write(' '), 2000);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const { status, body } = await register(url, true);
    expect(Date.now() - started).toBeLessThan(4500);
    expect(status).toBe(500);
    expect(body.message).toMatch(/did not answer within 3000 ms/);
    const list = (await (await fetch(`${admin.url}/deployments`)).json()) as { deployments: unknown[] };
    expect(list.deployments).toEqual([]);
  });

  it('an internal error page comes back as its status and a short excerpt without its tokens', async () => {
    const token = 'ghp_R2d2C3poBB8Luke5kywalkerXwingT65Ab12';
    const { url } = await listenHttp1((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>Internal Server Error</h1><!-- deploy token: ${token} --><p>token=${token}</p>${'x'.repeat(100_000)}</body></html>`);
    });
    const { status, body } = await register(url, true);
    expect(status).toBe(500);
    expect(body.message).toMatch(/answered 500/);
    expect(body.message).toMatch(/Internal Server Error/);
    expect(body.message).not.toContain(token);
    expect(body.message).not.toContain('ghp_R2d2');
    expect(body.message.length).toBeLessThan(500);
  });
});
