import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../src/admin/index.ts';
import type { AdminHandler, AdminResponse } from '../../src/admin/index.ts';
import { SchemaRegistry } from '../../src/metadata/index.ts';
import type { DiscoverFn, EndpointManifest } from '../../src/metadata/index.ts';
import { openSqlite } from '../../src/store/sqlite/db.ts';
import type { SqliteDb } from '../../src/store/sqlite/db.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';

const greeterManifest: EndpointManifest = {
  protocolMode: 'BIDI_STREAM',
  minProtocolVersion: 5,
  maxProtocolVersion: 6,
  services: [
    {
      name: 'Greeter',
      ty: 'SERVICE',
      handlers: [{ name: 'greet', input: { required: false, contentType: 'application/json' }, output: { contentType: 'application/json' } }],
    },
  ],
};

function request(handler: AdminHandler, method: string, pathAndQuery: string, body?: unknown): Promise<AdminResponse> {
  const url = new URL(pathAndQuery, 'http://admin');
  return handler({
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: { 'content-type': 'application/json' },
    body: new TextEncoder().encode(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)),
  });
}

function bodyOf(res: AdminResponse): Record<string, unknown> {
  return JSON.parse(typeof res.body === 'string' ? res.body : new TextDecoder().decode(res.body)) as Record<string, unknown>;
}

describe('admin API', () => {
  let dir: string;
  let db: SqliteDb;
  let registry: SchemaRegistry;
  let manifests: Map<string, EndpointManifest>;
  let discoveries: string[];
  let handler: AdminHandler;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'endure-admin-'));
    db = openSqlite(join(dir, 'endure.db'));
    registry = await SchemaRegistry.open(new SqliteMetadataStore(db));
    manifests = new Map([['http://127.0.0.1:9080/', greeterManifest]]);
    discoveries = [];
    const discover: DiscoverFn = async (url) => {
      discoveries.push(url);
      const m = manifests.get(new URL(url).href);
      if (m === undefined) throw Object.assign(new Error('connection refused'), { restateCode: 'META0003' });
      return m;
    };
    handler = createAdminHandler({ registry, discover, version: '0.1.0-test' });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers a deployment and answers 201 with its services', async () => {
    const res = await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' });
    expect(res.status).toBe(201);
    const body = bodyOf(res);
    expect(body.id).toMatch(/^dp_/);
    expect(res.headers.location).toBe(`deployments/${body.id as string}`);
    expect(body.min_protocol_version).toBe(5);
    expect(body.services).toMatchObject([
      {
        name: 'Greeter',
        ty: 'Service',
        revision: 1,
        public: true,
        deployment_id: body.id,
        inactivity_timeout: '1m',
        abort_timeout: '10m',
        idempotency_retention: '1d',
        handlers: [{ name: 'greet', input_description: 'application/json', output_description: 'application/json', public: true }],
      },
    ]);
    expect(registry.getService('Greeter')?.deploymentId).toBe(body.id);
  });

  it('lists and describes deployments and services', async () => {
    const id = bodyOf(await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' })).id;
    const list = bodyOf(await request(handler, 'GET', '/deployments'));
    expect(list.deployments).toMatchObject([
      { id, uri: 'http://127.0.0.1:9080', protocol_type: 'BidiStream', http_version: 'HTTP/2.0', services: [{ name: 'Greeter', revision: 1 }] },
    ]);
    const detail = bodyOf(await request(handler, 'GET', `/deployments/${id as string}`));
    expect(detail.services).toMatchObject([{ name: 'Greeter', ty: 'Service' }]);
    const services = bodyOf(await request(handler, 'GET', '/services'));
    expect((services.services as { name: string }[]).map((s) => s.name)).toEqual(['Greeter']);
    const svc = await request(handler, 'GET', '/services/Greeter');
    expect(svc.status).toBe(200);
    expect(bodyOf(svc)).toMatchObject({ name: 'Greeter', deployment_id: id });
    expect(bodyOf(await request(handler, 'GET', '/services/Greeter/handlers'))).toMatchObject({ handlers: [{ name: 'greet' }] });
    expect((await request(handler, 'GET', '/services/Greeter/handlers/greet')).status).toBe(200);
  });

  it('answers 404 with a JSON error for unknown services, handlers, deployments and routes', async () => {
    const svc = await request(handler, 'GET', '/services/Nope');
    expect(svc.status).toBe(404);
    expect(bodyOf(svc)).toEqual({ code: 404, message: "The requested service 'Nope' does not exist", restate_code: null });
    const unknown = 'dp_11lTZoV3qOSWlOJF20thAAA';
    const dp = await request(handler, 'GET', `/v4/deployments/${unknown}`);
    expect(dp.status).toBe(404);
    expect(bodyOf(dp)).toEqual({ code: 404, message: `The requested deployment '${unknown}' does not exist`, restate_code: null });
    expect((await request(handler, 'DELETE', `/deployments/${unknown}?force=true`)).status).toBe(404);
    expect((await request(handler, 'GET', '/no/such/route')).status).toBe(404);
  });

  it('answers 400 with a JSON error for a malformed deployment id', async () => {
    for (const id of ['dp_missing', 'dp_1111', 'dp_1zzzzzzzzzzzzzzzzzzzzzz', 'inv_1abc']) {
      const res = await request(handler, 'GET', `/v4/deployments/${id}`);
      expect(res.status, id).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      expect(bodyOf(res)).toMatchObject({ code: 400, restate_code: null, message: expect.stringContaining(id) });
    }
    expect((await request(handler, 'DELETE', '/deployments/dp_missing?force=true')).status).toBe(400);
    // Ids stored before they took Restate's shape (dp_ and 26 characters) stay addressable.
    expect((await request(handler, 'GET', '/v4/deployments/dp_11111111111111111111111111')).status).toBe(404);
  });

  it('gives new deployments ids in Restate shape whose ULID carries the creation time', async () => {
    const before = Date.now();
    const id = bodyOf(await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' })).id as string;
    expect(id).toMatch(/^dp_1[0-9a-zA-Z]{22}$/);
    // Decode as Restate does: base62 (digits, lower, upper) to a u128, then byte-swap to the ULID.
    let v = 0n;
    for (const c of id.slice(4)) v = v * 62n + BigInt('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.indexOf(c));
    expect(v < 1n << 128n).toBe(true);
    let ulid = 0n;
    for (let i = 0; i < 16; i++) ulid = (ulid << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
    const createdMs = Number(ulid >> 80n);
    expect(createdMs).toBeGreaterThanOrEqual(before);
    expect(createdMs).toBeLessThanOrEqual(Date.now());
    expect((await request(handler, 'GET', `/v4/deployments/${id}`)).status).toBe(200);
  });

  it('updates a deployment in place: same id and revisions, new endpoint; refuses other services', async () => {
    const id = bodyOf(await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' })).id as string;
    manifests.set('http://127.0.0.1:9081/', greeterManifest);
    manifests.set('http://127.0.0.1:9082/', { ...greeterManifest, services: [{ ...greeterManifest.services[0]!, name: 'Other' }] });

    const dry = await request(handler, 'PATCH', `/v4/deployments/${id}`, { uri: 'http://127.0.0.1:9081', dry_run: true });
    expect(dry.status).toBe(200);
    expect(registry.getDeployment(id)?.url).toBe('http://127.0.0.1:9080');

    const res = await request(handler, 'PATCH', `/v4/deployments/${id}`, { uri: 'http://127.0.0.1:9081', additional_headers: { 'x-env': 'b' } });
    expect(res.status).toBe(200);
    expect(bodyOf(res)).toMatchObject({ id, uri: 'http://127.0.0.1:9081', additional_headers: { 'x-env': 'b' }, services: [{ name: 'Greeter', revision: 1 }] });
    expect(registry.getDeployment(id)?.url).toBe('http://127.0.0.1:9081');
    expect(registry.getService('Greeter')).toMatchObject({ revision: 1, deploymentId: id });

    const other = await request(handler, 'PATCH', `/v4/deployments/${id}`, { uri: 'http://127.0.0.1:9082' });
    expect(other.status).toBe(400);
    expect(bodyOf(other).message).toContain('same services');
    expect(registry.getDeployment(id)?.url).toBe('http://127.0.0.1:9081');
    expect((await request(handler, 'PATCH', '/v4/deployments/dp_11lTZoV3qOSWlOJF20thAAA', {})).status).toBe(404);
    expect((await request(handler, 'PATCH', `/v4/deployments/${id}`, { uri: 'ftp://x' })).status).toBe(400);
  });

  it("serves a service's OpenAPI document with its handlers' call and send paths", async () => {
    await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' });
    const res = await request(handler, 'GET', '/v4/services/Greeter/openapi');
    expect(res.status).toBe(200);
    const doc = bodyOf(res) as { openapi: string; info: { title: string }; paths: Record<string, { post: Record<string, unknown> }> };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Greeter');
    expect(Object.keys(doc.paths).sort()).toEqual(['/Greeter/greet', '/Greeter/greet/send']);
    expect(doc.paths['/Greeter/greet']?.post).toMatchObject({
      operationId: 'greet',
      requestBody: { required: false, content: { 'application/json': {} } },
      responses: { '200': { content: { 'application/json': {} } } },
    });
    expect(doc.paths['/Greeter/greet/send']?.post).toMatchObject({ responses: { '202': {} } });
    expect((await request(handler, 'GET', '/v4/services/Nope/openapi')).status).toBe(404);
  });

  it('answers 405 for a known path with the wrong method', async () => {
    const res = await request(handler, 'PUT', '/services');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET');
  });

  it('rejects bad registration bodies with 400 and changes nothing', async () => {
    for (const body of ['{not json', { uri: 'not a uri' }, {}, { uri: 'ftp://x/' }, { uri: 'http://127.0.0.1:9080', force: 'yes' }]) {
      const res = await request(handler, 'POST', '/deployments', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(bodyOf(res).message).toEqual(expect.any(String));
    }
    expect(discoveries).toEqual([]);
    expect(registry.listDeployments()).toEqual([]);
  });

  it('reports a failed discovery with Restate status and code', async () => {
    const res = await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:1' });
    expect(res.status).toBe(500);
    expect(bodyOf(res)).toMatchObject({ restate_code: 'META0003' });
    expect(bodyOf(res).message).toContain('connection refused');
  });

  it('re-registering the same URI is a no-op without force and an overwrite with force', async () => {
    const first = bodyOf(await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' }));
    const again = await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080/' });
    expect(again.status).toBe(200);
    expect(bodyOf(again).id).toBe(first.id);
    expect(discoveries).toHaveLength(1);
    const legacy = await request(handler, 'POST', '/v2/deployments', { uri: 'http://127.0.0.1:9080', force: false });
    expect(legacy.status).toBe(409);
    const forced = await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080', force: true });
    expect(forced.status).toBe(200);
    expect(bodyOf(forced)).toMatchObject({ id: first.id, services: [{ name: 'Greeter', revision: 2 }] });
  });

  it('refuses a service type change with 409', async () => {
    await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' });
    manifests.set('http://127.0.0.1:9081/', {
      ...greeterManifest,
      services: [{ name: 'Greeter', ty: 'VIRTUAL_OBJECT', handlers: [{ name: 'greet' }] }],
    });
    const res = await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9081' });
    expect(res.status).toBe(409);
    expect(bodyOf(res)).toMatchObject({ code: 409, restate_code: 'META0006' });
    const breaking = await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9081', breaking: true });
    expect(breaking.status).toBe(201);
  });

  it('deletes a deployment only with force=true, answering 202', async () => {
    const id = bodyOf(await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' })).id as string;
    expect((await request(handler, 'DELETE', `/deployments/${id}`)).status).toBe(501);
    expect(registry.getDeployment(id)).toBeDefined();
    expect((await request(handler, 'DELETE', `/deployments/${id}?force=true`)).status).toBe(202);
    expect(registry.getDeployment(id)).toBeUndefined();
    expect((await request(handler, 'GET', '/services/Greeter')).status).toBe(404);
  });

  it('modifies a service with PATCH /services/{name}, keeping its revision', async () => {
    await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080' });
    const res = await request(handler, 'PATCH', '/services/Greeter', {
      public: false,
      inactivity_timeout: '5 minutes',
      idempotency_retention: 'PT2H',
    });
    expect(res.status).toBe(200);
    expect(bodyOf(res)).toMatchObject({
      public: false,
      inactivity_timeout: '5m',
      idempotency_retention: '2h',
      revision: 1,
      handlers: [{ name: 'greet', public: false }],
    });
    expect(registry.getHandler('Greeter', 'greet')?.public).toBe(false);
    expect(registry.getService('Greeter')?.options.inactivityTimeoutMs).toBe(300_000);
    const bad = await request(handler, 'PATCH', '/services/Greeter', { abort_timeout: 'soon' });
    expect(bad.status).toBe(400);
    const wf = await request(handler, 'PATCH', '/services/Greeter', { workflow_completion_retention: '1d' });
    expect(wf.status).toBe(400);
    expect((await request(handler, 'PATCH', '/services/Nope', { public: true })).status).toBe(404);
  });

  it('does not register anything on a dry run', async () => {
    const res = await request(handler, 'POST', '/deployments', { uri: 'http://127.0.0.1:9080', dry_run: true });
    expect(res.status).toBe(201);
    expect(registry.listDeployments()).toEqual([]);
  });

  it('serves health and version, also under /vN prefixes', async () => {
    expect((await request(handler, 'GET', '/health')).status).toBe(200);
    // Restate's CLI needs a Restate version of 1.5 or later to send its current query shapes.
    expect(bodyOf(await request(handler, 'GET', '/version'))).toMatchObject({
      version: '1.7.0',
      endure_version: '0.1.0-test',
      min_admin_api_version: 2,
      max_admin_api_version: 4,
      features: {},
    });
    expect((await request(handler, 'GET', '/v4/health')).status).toBe(200);
    expect((await request(handler, 'GET', '/v3/services')).status).toBe(200);
    expect((await request(handler, 'GET', '/v1/services')).status).toBe(400);
  });

  it('routes unknown paths to extra routes and the fallback', async () => {
    const h = createAdminHandler({
      registry,
      discover: async () => greeterManifest,
      version: 'x',
      extraRoutes: [{ method: 'POST', path: '/invocations/:id/cancel', handle: (_r, { params }) => ({ status: 202, headers: {}, body: params.id as string }) }],
      fallback: async (r) => ({ status: 299, headers: {}, body: r.path }),
    });
    const res = await request(h, 'POST', '/invocations/inv_1/cancel');
    expect(res).toMatchObject({ status: 202, body: 'inv_1' });
    expect(await request(h, 'GET', '/query/x')).toMatchObject({ status: 299, body: '/query/x' });
  });
});
