import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminHandler, type AdminHandler, type AdminResponse } from '../../src/admin/index.ts';
import { SchemaRegistry, type EndpointManifest } from '../../src/metadata/index.ts';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite/db.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';

// Admin writes on a store that refuses them: SQLite's max_page_count makes a real SQLITE_FULL
// on demand. The caller gets 503 saying why, and the registry does not change.

const manifest: EndpointManifest = {
  protocolMode: 'BIDI_STREAM',
  minProtocolVersion: 5,
  maxProtocolVersion: 6,
  services: Array.from({ length: 40 }, (_, i) => ({
    name: `Service${i}`,
    ty: 'SERVICE' as const,
    documentation: 'd'.repeat(2000),
    handlers: [{ name: 'run', input: { required: false, contentType: 'application/json' }, output: { contentType: 'application/json' } }],
  })),
};

function post(handler: AdminHandler, path: string, body: unknown): Promise<AdminResponse> {
  return handler({
    method: 'POST',
    path,
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json' },
    body: new TextEncoder().encode(JSON.stringify(body)),
  });
}

function bodyOf(res: AdminResponse): Record<string, unknown> {
  return JSON.parse(typeof res.body === 'string' ? res.body : new TextDecoder().decode(res.body)) as Record<string, unknown>;
}

describe('admin API on a full disk', () => {
  let dir: string;
  let db: SqliteDb;
  let registry: SchemaRegistry;
  let handler: AdminHandler;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'endure-admin-full-'));
    db = openSqlite(join(dir, 'endure.db'));
    registry = await SchemaRegistry.open(new SqliteMetadataStore(db));
    handler = createAdminHandler({ registry, discover: async () => manifest, version: '0.1.0-test' });
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registering a deployment gets 503 saying the disk is full, and registers nothing', async () => {
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const refused = await post(handler, '/deployments', { uri: 'http://127.0.0.1:9080' });
    expect(refused.status).toBe(503);
    expect(bodyOf(refused)).toEqual({ code: 503, message: expect.stringMatching(/^the store is refusing writes: the disk is full \(SQLITE_FULL/) });
    expect(registry.getService('Service0')).toBeUndefined();

    db.pragma('max_page_count = 1000000');
    const created = await post(handler, '/deployments', { uri: 'http://127.0.0.1:9080' });
    expect(created.status).toBe(201);
    expect(registry.getService('Service0')).toBeDefined();
  });
});
