import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetadataError, SchemaRegistry, checkHandlerInput } from '../../src/metadata/index.ts';
import type { EndpointManifest, ServiceManifest } from '../../src/metadata/index.ts';
import { openSqlite } from '../../src/store/sqlite/db.ts';
import type { SqliteDb } from '../../src/store/sqlite/db.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';

function manifest(...services: ServiceManifest[]): EndpointManifest {
  return { protocolMode: 'BIDI_STREAM', minProtocolVersion: 5, maxProtocolVersion: 6, services };
}

const counter: ServiceManifest = {
  name: 'Counter',
  ty: 'VIRTUAL_OBJECT',
  handlers: [
    { name: 'add', input: { required: false, contentType: 'application/json' } },
    { name: 'get', ty: 'SHARED', output: { contentType: 'application/json' } },
  ],
  inactivityTimeout: 30_000,
  retryPolicyMaxAttempts: 3,
  retryPolicyOnMaxAttempts: 'KILL',
};
const greeter: ServiceManifest = { name: 'Greeter', ty: 'SERVICE', handlers: [{ name: 'greet' }] };

async function expectError(p: Promise<unknown>, status: number): Promise<MetadataError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MetadataError);
    expect((e as MetadataError).status).toBe(status);
    return e as MetadataError;
  }
  throw new Error('expected a MetadataError');
}

describe('SchemaRegistry', () => {
  let dir: string;
  let db: SqliteDb;
  let registry: SchemaRegistry;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'endure-metadata-'));
    db = openSqlite(join(dir, 'endure.db'));
    registry = await SchemaRegistry.open(new SqliteMetadataStore(db));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers the services of a deployment and serves them from memory', async () => {
    const r = await registry.registerDeployment('http://127.0.0.1:9080', manifest(counter, greeter), {});
    expect(r.outcome).toBe('created');
    expect(r.deployment.id).toMatch(/^dp_1[0-9a-zA-Z]{22}$/);
    expect(r.deployment.services).toEqual(['Counter', 'Greeter']);
    const svc = registry.getService('Counter');
    expect(svc).toMatchObject({ name: 'Counter', ty: 'VIRTUAL_OBJECT', revision: 1, deploymentId: r.deployment.id, public: true });
    expect(svc?.options).toEqual({ inactivityTimeoutMs: 30_000, retryPolicy: { maxAttempts: 3, onMaxAttempts: 'kill' } });
    expect(registry.getHandler('Counter', 'add')).toMatchObject({ ty: 'EXCLUSIVE', acceptsEmptyInput: true, inputContentType: 'application/json' });
    expect(registry.getHandler('Counter', 'get')?.ty).toBe('SHARED');
    expect(registry.getHandler('Greeter', 'greet')).toMatchObject({ ty: undefined, inputContentType: '*/*', outputContentType: 'application/json' });
    expect(registry.getHandler('Counter', 'constructor')).toBeUndefined();
    expect(registry.getHandler('Nope', 'x')).toBeUndefined();
    expect(registry.listServices().map((s) => s.name)).toEqual(['Counter', 'Greeter']);
  });

  it('survives a restart with the same content', async () => {
    const r = await registry.registerDeployment('http://127.0.0.1:9080', manifest(counter, greeter), {
      useHttp11: true,
      additionalHeaders: { 'x-api-key': 'k' },
    });
    db.close();
    db = openSqlite(join(dir, 'endure.db'));
    const reopened = await SchemaRegistry.open(new SqliteMetadataStore(db));
    expect(reopened.listDeployments()).toEqual([r.deployment]);
    expect(reopened.listServices()).toEqual(registry.listServices());
    expect(reopened.getHandler('Counter', 'add')).toEqual(registry.getHandler('Counter', 'add'));
    expect(reopened.getDeployment(r.deployment.id)?.additionalHeaders).toEqual({ 'x-api-key': 'k' });
    const rows = db.prepare('SELECT name, revision, deployment_id FROM service ORDER BY name').all();
    expect(rows).toEqual([
      { name: 'Counter', revision: 1, deployment_id: r.deployment.id },
      { name: 'Greeter', revision: 1, deployment_id: r.deployment.id },
    ]);
  });

  it('leaves an already registered URL unchanged without force', async () => {
    const first = await registry.registerDeployment('http://127.0.0.1:9080/', manifest(greeter), {});
    const again = await registry.registerDeployment('http://127.0.0.1:9080', manifest(greeter, counter), {});
    expect(again.outcome).toBe('unchanged');
    expect(again.deployment.id).toBe(first.deployment.id);
    expect(registry.getService('Counter')).toBeUndefined();
  });

  it('overwrites the deployment of the same URL with force, bumping revisions', async () => {
    const first = await registry.registerDeployment('http://127.0.0.1:9080', manifest(greeter, counter), {});
    const forced = await registry.registerDeployment('http://127.0.0.1:9080', manifest(greeter), { force: true });
    expect(forced.outcome).toBe('overwritten');
    expect(forced.deployment.id).toBe(first.deployment.id);
    expect(registry.getService('Greeter')?.revision).toBe(2);
    expect(registry.getService('Counter')).toBeUndefined();
    expect(registry.listDeployments()).toHaveLength(1);
    expect(db.prepare('SELECT name FROM service').all()).toEqual([{ name: 'Greeter' }]);
  });

  it('points a service to the newest deployment and falls back when that one is removed', async () => {
    const v1 = await registry.registerDeployment('http://127.0.0.1:9080', manifest(greeter), {});
    const v2 = await registry.registerDeployment('http://127.0.0.1:9081', manifest(greeter), {});
    expect(registry.getService('Greeter')).toMatchObject({ revision: 2, deploymentId: v2.deployment.id });
    await registry.removeDeployment(v2.deployment.id);
    expect(registry.getService('Greeter')).toMatchObject({ revision: 1, deploymentId: v1.deployment.id });
    await registry.removeDeployment(v1.deployment.id);
    expect(registry.getService('Greeter')).toBeUndefined();
    expect(db.prepare('SELECT count(*) AS n FROM service').get()).toEqual({ n: 0 });
  });

  it('refuses a service changing type unless forced or breaking', async () => {
    await registry.registerDeployment('http://127.0.0.1:9080', manifest(greeter), {});
    const asObject: ServiceManifest = { ...greeter, ty: 'VIRTUAL_OBJECT' };
    const e = await expectError(registry.registerDeployment('http://127.0.0.1:9081', manifest(asObject), {}), 409);
    expect(e.restateCode).toBe('META0006');
    expect(registry.getService('Greeter')?.ty).toBe('SERVICE');
    await registry.registerDeployment('http://127.0.0.1:9081', manifest(asObject), { breaking: true });
    expect(registry.getService('Greeter')).toMatchObject({ ty: 'VIRTUAL_OBJECT', revision: 2 });
  });

  it('rejects reserved names and bad handler types without changing anything', async () => {
    await expectError(registry.registerDeployment('http://a:1', manifest({ ...greeter, name: 'restate.Foo' }), {}), 400);
    await expectError(
      registry.registerDeployment('http://a:1', manifest({ name: 'S', ty: 'SERVICE', handlers: [{ name: 'h', ty: 'EXCLUSIVE' }] }), {}),
      400,
    );
    await expectError(
      registry.registerDeployment(
        'http://a:1',
        manifest({ name: 'W', ty: 'WORKFLOW', handlers: [{ name: 'h', ty: 'SHARED', workflowCompletionRetention: 1000 }] }),
        {},
      ),
      400,
    );
    expect(registry.listDeployments()).toEqual([]);
  });

  it('persists service modifications across a restart', async () => {
    await registry.registerDeployment('http://127.0.0.1:9080', manifest(counter), {});
    const updated = await registry.modifyService('Counter', { public: false, abortTimeoutMs: 1000 });
    expect(updated).toMatchObject({ public: false, revision: 1 });
    expect(registry.getHandler('Counter', 'add')?.public).toBe(false);
    db.close();
    db = openSqlite(join(dir, 'endure.db'));
    const reopened = await SchemaRegistry.open(new SqliteMetadataStore(db));
    expect(reopened.getService('Counter')).toMatchObject({ public: false, options: { abortTimeoutMs: 1000 } });
    expect(reopened.getHandler('Counter', 'add')?.public).toBe(false);
  });

  it('does not persist a dry run', async () => {
    const r = await registry.registerDeployment('http://127.0.0.1:9080', manifest(greeter), { dryRun: true });
    expect(r.outcome).toBe('created');
    expect(registry.listDeployments()).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM deployment').get()).toEqual({ n: 0 });
  });

  it('answers 404 when removing an unknown deployment', async () => {
    await expectError(registry.removeDeployment('dp_nope'), 404);
  });

  it('defaults workflow handlers without a type to SHARED', async () => {
    await registry.registerDeployment(
      'http://127.0.0.1:9080',
      manifest({ name: 'Signup', ty: 'WORKFLOW', handlers: [{ name: 'run', ty: 'WORKFLOW' }, { name: 'status' }] }),
      {},
    );
    expect(registry.getHandler('Signup', 'run')?.ty).toBe('WORKFLOW');
    expect(registry.getHandler('Signup', 'status')?.ty).toBe('SHARED');
  });
});

describe('checkHandlerInput', () => {
  it('follows the declared input rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'endure-metadata-'));
    const db = openSqlite(join(dir, 'endure.db'));
    try {
      const registry = await SchemaRegistry.open(new SqliteMetadataStore(db));
      await registry.registerDeployment(
        'http://x:1',
        manifest({
          name: 'S',
          ty: 'SERVICE',
          handlers: [
            { name: 'any' },
            { name: 'json', input: { required: true, contentType: 'application/json', jsonSchema: {} } },
            { name: 'none', input: {} },
          ],
        }),
        {},
      );
      const h = (n: string) => registry.getHandler('S', n)!;
      expect(checkHandlerInput(h('any'), undefined, 0)).toBeUndefined();
      expect(checkHandlerInput(h('any'), 'text/plain', 3)).toBeUndefined();
      expect(checkHandlerInput(h('json'), undefined, 0)).toBeDefined();
      expect(checkHandlerInput(h('json'), 'application/json; charset=utf-8', 2)).toBeUndefined();
      expect(checkHandlerInput(h('json'), 'text/plain', 2)).toBeDefined();
      expect(checkHandlerInput(h('none'), undefined, 0)).toBeUndefined();
      expect(checkHandlerInput(h('none'), 'application/json', 2)).toBeDefined();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
