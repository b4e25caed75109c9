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

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import type { Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler, startAdminServer } from '../../src/admin/index.ts';
import type { AdminServer } from '../../src/admin/index.ts';
import { SchemaRegistry } from '../../src/metadata/index.ts';
import { discoverEndpoint } from '../../src/protocol/index.ts';
import { openSqlite } from '../../src/store/sqlite/db.ts';
import type { SqliteDb } from '../../src/store/sqlite/db.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';

describe('admin API over a real socket with an SDK endpoint', () => {
  let dir: string;
  let db: SqliteDb;
  let sdkServer: Server;
  let sdkUrl: string;
  let h2Server: Http2Server;
  let h2Url: string;
  let admin: AdminServer;

  beforeAll(async () => {
    const restate = await import('@restatedev/restate-sdk');
    const greeter = restate.service({
      name: 'Greeter',
      handlers: { greet: async (_ctx: unknown, name: string) => `Hello ${name}` },
    });
    const counter = restate.object({
      name: 'Counter',
      handlers: {
        add: async (_ctx: unknown, n: number) => n,
        get: restate.handlers.object.shared(async () => 0),
      },
    });
    sdkServer = createServer(restate.createEndpointHandler({ services: [greeter, counter] }));
    await new Promise<void>((resolve) => sdkServer.listen(0, '127.0.0.1', resolve));
    sdkUrl = `http://127.0.0.1:${(sdkServer.address() as AddressInfo).port}`;
    const ticker = restate.service({ name: 'Ticker', handlers: { tick: async () => 1 } });
    h2Server = createHttp2Server(restate.createEndpointHandler({ services: [ticker] }));
    await new Promise<void>((resolve) => h2Server.listen(0, '127.0.0.1', resolve));
    h2Url = `http://127.0.0.1:${(h2Server.address() as AddressInfo).port}`;

    dir = mkdtempSync(join(tmpdir(), 'endure-admin-sdk-'));
    db = openSqlite(join(dir, 'endure.db'));
    const registry = await SchemaRegistry.open(new SqliteMetadataStore(db));
    admin = await startAdminServer(createAdminHandler({ registry, discover: discoverEndpoint, version: 'test' }), {
      host: '127.0.0.1',
      port: 0,
    });
  });

  afterAll(async () => {
    await admin?.close();
    await new Promise<void>((resolve) => (sdkServer ? sdkServer.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (h2Server ? h2Server.close(() => resolve()) : resolve()));
    db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers the endpoint through POST /deployments and lists its services', async () => {
    const reg = await fetch(`${admin.url}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: sdkUrl, use_http_11: true }),
    });
    const regBody = (await reg.json()) as { id: string; services: { name: string; ty: string }[] };
    expect(reg.status, JSON.stringify(regBody)).toBe(201);
    expect(regBody.services.map((s) => [s.name, s.ty]).sort()).toEqual([
      ['Counter', 'VirtualObject'],
      ['Greeter', 'Service'],
    ]);

    const list = (await (await fetch(`${admin.url}/services`)).json()) as {
      services: { name: string; deployment_id: string; handlers: { name: string; ty?: string }[] }[];
    };
    expect(list.services.map((s) => s.name)).toEqual(['Counter', 'Greeter']);
    expect(list.services.every((s) => s.deployment_id === regBody.id)).toBe(true);
    const counter = list.services.find((s) => s.name === 'Counter');
    expect(counter?.handlers.map((h) => [h.name, h.ty]).sort()).toEqual([
      ['add', 'Exclusive'],
      ['get', 'Shared'],
    ]);

    const deployments = (await (await fetch(`${admin.url}/deployments`)).json()) as {
      deployments: { id: string; uri: string; http_version: string; protocol_type: string }[];
    };
    expect(deployments.deployments).toMatchObject([
      { id: regBody.id, uri: sdkUrl, http_version: 'HTTP/1.1', protocol_type: 'RequestResponse' },
    ]);
  });

  it('registers an HTTP/2 endpoint in bidirectional streaming mode', async () => {
    const reg = await fetch(`${admin.url}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: h2Url }),
    });
    const body = (await reg.json()) as { id: string };
    expect(reg.status, JSON.stringify(body)).toBe(201);
    const detail = (await (await fetch(`${admin.url}/deployments/${body.id}`)).json()) as Record<string, unknown>;
    expect(detail).toMatchObject({ uri: h2Url, protocol_type: 'BidiStream', http_version: 'HTTP/2.0', services: [{ name: 'Ticker' }] });
  });

  it('answers an oversized body with 413 and bad JSON with 400', async () => {
    const bad = await fetch(`${admin.url}/deployments`, { method: 'POST', body: '{' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 400 });

    const small = await startAdminServer(async () => ({ status: 200, headers: {}, body: 'ok' }), {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 100,
    });
    try {
      const big = await fetch(`${small.url}/deployments`, { method: 'POST', body: 'x'.repeat(1000) });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({ code: 413 });
    } finally {
      await small.close();
    }
  });
});
