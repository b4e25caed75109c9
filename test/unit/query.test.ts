// POST /query on a real store, SQLite and PostgreSQL: Restate's introspection tables over the
// records the partition store and the schema registry wrote, run on the engine's own read-only
// connection (a worker thread's on SQLite), answered in JSON and in Arrow as Restate's CLI reads
// them. Both backends hold the same records and must give the same answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../src/admin/index.ts';
import type { AdminHandler, AdminResponse } from '../../src/admin/index.ts';
import { invocationFilter, targetCondition } from '../../src/cli/invocations.ts';
import { SchemaRegistry } from '../../src/metadata/index.ts';
import { MessageType, encodeMessage, pb } from '../../src/protocol/index.ts';
import { SqlitePartitionStore, SqliteQueryEngine, openSqlite, openStore } from '../../src/store/index.ts';
import type { PartitionStore, QueryAttempt, QueryEngine, QueryLimits, StoreBackend } from '../../src/store/index.ts';
import { PostgresQueryEngine } from '../../src/store/postgres/query/engine.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';
import { createTestDatabase, type TestDatabase } from '../harness/postgres.ts';
import { formatInvocationId, newInvocationId } from '../../src/types/index.ts';
import type { InvocationStatus, ResolvedTarget } from '../../src/worker/index.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A store of one backend, with what the tests need of it. */
interface Fixture {
  readonly store: PartitionStore;
  readonly registry: SchemaRegistry;
  /** A query engine over the store; closed by the caller. */
  engine(limits?: QueryLimits, attempts?: () => readonly QueryAttempt[]): QueryEngine;
  close(): Promise<void>;
}

/** Bad queries and the message each backend answers them with. */
interface Backend {
  readonly name: 'sqlite' | 'postgres';
  open(): Promise<Fixture>;
  readonly messages: { noTable: RegExp; syntax: RegExp; twoStatements: RegExp; writingCte: RegExp };
}

let pgDatabase: TestDatabase | undefined;

/** Each table's columns and rows on the first backend, which the next must give too. */
const answersByTable = new Map<string, { columns: string[]; answer: string[] }>();

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'endure-query-'));
      const path = join(dir, 'endure.db');
      const db = openSqlite(path);
      const store = new SqlitePartitionStore(db);
      const registry = await SchemaRegistry.open(new SqliteMetadataStore(db, (fn) => store.exclusive(fn)));
      return {
        store,
        registry,
        engine: (limits, attempts) => new SqliteQueryEngine(path, limits, attempts),
        async close() {
          await store.close();
          db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    messages: { noTable: /no such table: no_such_table/, syntax: /syntax error/, twoStatements: /more than one statement/, writingCte: /cannot modify state|only queries that read/ },
  },
  {
    name: 'postgres',
    async open() {
      pgDatabase = await createTestDatabase();
      const location = { url: pgDatabase.url, schema: 'endure' };
      const backend: StoreBackend = await openStore({ kind: 'postgres', ...location });
      const registry = await SchemaRegistry.open(backend.metadata);
      return {
        store: backend.partitions,
        registry,
        engine: (limits, attempts) => new PostgresQueryEngine(location, limits, attempts),
        async close() {
          await backend.close();
          await pgDatabase?.drop();
        },
      };
    },
    messages: {
      noTable: /relation "no_such_table" does not exist/,
      syntax: /syntax error/,
      twoStatements: /cannot insert multiple commands/,
      writingCte: /read-only transaction|only queries that read/,
    },
  },
];

const ids = {
  running: formatInvocationId(newInvocationId('k1')),
  inboxed: formatInvocationId(newInvocationId('k1')),
  suspended: formatInvocationId(newInvocationId()),
  completed: formatInvocationId(newInvocationId()),
  failed: formatInvocationId(newInvocationId()),
  retrying: formatInvocationId(newInvocationId()),
  callee: formatInvocationId(newInvocationId()),
};
const T0 = Date.parse('2026-11-25T19:04:00.737Z');

function target(service: string, handlerName: string, key?: string): ResolvedTarget {
  return {
    service,
    handler: handlerName,
    key,
    serviceType: key === undefined ? 'SERVICE' : 'VIRTUAL_OBJECT',
    handlerType: key === undefined ? undefined : 'EXCLUSIVE',
    deploymentId,
    retentionMs: 86_400_000,
  };
}

function status(id: string, phase: InvocationStatus['phase'], t: ResolvedTarget, at: number, extra: Partial<InvocationStatus> = {}): InvocationStatus {
  return {
    id,
    partition: 0,
    phase,
    target: t,
    idempotencyKey: undefined,
    createdAt: at,
    modifiedAt: at + 5,
    completedAt: phase === 'completed' ? at + 10 : undefined,
    journalLength: 1,
    commandCount: 1,
    waiting: undefined,
    sinks: [],
    result: undefined,
    ...extra,
  };
}

function request(method: string, path: string, body: unknown, accept?: string): Promise<AdminResponse> {
  return handler({
    method,
    path,
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json', ...(accept !== undefined ? { accept } : {}) },
    body: utf8(typeof body === 'string' ? body : JSON.stringify(body)),
  });
}

function text(res: AdminResponse): string {
  return typeof res.body === 'string' ? res.body : new TextDecoder().decode(res.body);
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const res = await request('POST', '/v4/query', { query: sql }, 'application/json');
  expect(res.status, text(res)).toBe(200);
  expect(res.headers['content-type']).toBe('application/json');
  return (JSON.parse(text(res)) as { rows: Record<string, unknown>[] }).rows;
}

async function arrow(sql: string) {
  const res = await request('POST', '/v4/query', { query: sql }, '*/*');
  expect(res.status, text(res)).toBe(200);
  expect(res.headers['content-type']).toBe('application/vnd.apache.arrow.stream');
  return tableFromIPC(res.body as Uint8Array);
}

let store: PartitionStore;
let engine: QueryEngine;
let handler: AdminHandler;
let deploymentId: string;

for (const backend of BACKENDS) {
  describe(`on ${backend.name}`, () => {
    let fx: Fixture;

    beforeAll(async () => {
      fx = await backend.open();
      store = fx.store;
      const registry = fx.registry;
      const reg = await registry.registerDeployment(
        'http://127.0.0.1:9080/',
        {
          protocolMode: 'BIDI_STREAM',
          minProtocolVersion: 5,
          maxProtocolVersion: 6,
          services: [
            { name: 'Counter', ty: 'VIRTUAL_OBJECT', handlers: [{ name: 'add' }, { name: 'get', ty: 'SHARED' }] },
            { name: 'Greeter', ty: 'SERVICE', handlers: [{ name: 'greet' }] },
          ],
        },
        {},
      );
      deploymentId = reg.deployment.id;

      await store.transaction(async (tx) => {
        await tx.putInvocation(status(ids.running, 'invoked', target('Counter', 'add', 'k1'), T0));
        await tx.putInvocation(status(ids.inboxed, 'inboxed', target('Counter', 'add', 'k1'), T0 + 1000));
        await tx.putInvocation(status(ids.suspended, 'suspended', target('Greeter', 'greet'), T0 + 2000, { journalLength: 4, commandCount: 3 }));
        await tx.putInvocation(status(ids.completed, 'completed', target('Greeter', 'greet'), T0 + 3000, { result: { ok: true, value: utf8('"hi"') } }));
        await tx.putInvocation(status(ids.failed, 'completed', target('Greeter', 'greet'), T0 + 4000, { result: { ok: false, code: 500, message: 'boom' } }));
        await tx.putInvocation(status(ids.retrying, 'invoked', target('Greeter', 'greet'), T0 + 5000));
        await tx.setLock('Counter', 'k1', ids.running);
        await tx.pushInbox(0, 'Counter', 'k1', 1, ids.inboxed);
        await tx.setState('Counter', 'k1', utf8('count'), utf8('42'));
        await tx.setState('Counter', 'k1', utf8('name'), utf8('"al"'));
        await tx.putIdempotency('Greeter', '', 'greet', 'req-1', ids.completed);
        await tx.putPromise('Signup', 'wf1', 'confirm', { result: { ok: true, value: utf8('"yes"') }, waiters: [] });
        // The suspended invocation's journal: input, a sleep, a call whose id is known, its result pending.
        const j = ids.suspended;
        await tx.appendJournal(j, { index: 0, type: MessageType.InputCommand, completionId: undefined, body: encodeMessage(pb.InputCommandMessageSchema, {}) });
        await tx.appendJournal(j, {
          index: 1,
          type: MessageType.SleepCommand,
          completionId: undefined,
          body: encodeMessage(pb.SleepCommandMessageSchema, { wakeUpTime: BigInt(T0 + 60_000), resultCompletionId: 1, name: 'nap' }),
        });
        await tx.appendJournal(j, {
          index: 2,
          type: MessageType.CallCommand,
          completionId: undefined,
          body: encodeMessage(pb.CallCommandMessageSchema, { serviceName: 'Counter', key: 'k3', handlerName: 'add', invocationIdNotificationIdx: 2, resultCompletionId: 3 }),
        });
        await tx.appendJournal(j, {
          index: 3,
          type: MessageType.CallInvocationIdCompletionNotification,
          completionId: 2,
          body: encodeMessage(pb.CallInvocationIdCompletionNotificationMessageSchema, { completionId: 2, invocationId: ids.callee }),
        });
        await tx.appendJournal(j, { index: 4, type: MessageType.SleepCompletionNotification, completionId: 1, body: encodeMessage(pb.SleepCompletionNotificationMessageSchema, { completionId: 1 }) });
      });

      // What the invoker would report: one attempt running, one backing off after failures.
      engine = fx.engine(undefined, () => [
        { id: ids.running, status: 'running', retryCount: 0, lastStartAt: T0 + 10, lastFailure: undefined, lastFailureCode: undefined, nextRetryAt: undefined },
        { id: ids.retrying, status: 'backing-off', retryCount: 3, lastStartAt: T0 + 6000, lastFailure: 'connection refused', lastFailureCode: 503, nextRetryAt: T0 + 8000 },
      ]);
      handler = createAdminHandler({ registry, discover: async () => Promise.reject(new Error('no discovery here')), version: 'test', query: engine });
    });

    afterAll(async () => {
      await engine?.close();
      await fx?.close();
    });

    describe('POST /query', () => {
      it('sys_invocation shows each invocation with Restate names, statuses and RFC 3339 times', async () => {
        const r = await rows('select id, target, target_service_ty, status, created_at, pinned_deployment_id, completion_result, completion_failure, target_service_key from sys_invocation order by created_at');
        expect(r).toEqual([
          { id: ids.running, target: 'Counter/k1/add', target_service_ty: 'virtual_object', status: 'running', created_at: '2026-11-25T19:04:00.737Z', pinned_deployment_id: deploymentId, target_service_key: 'k1' },
          { id: ids.inboxed, target: 'Counter/k1/add', target_service_ty: 'virtual_object', status: 'pending', created_at: '2026-11-25T19:04:01.737Z', pinned_deployment_id: deploymentId, target_service_key: 'k1' },
          { id: ids.suspended, target: 'Greeter/greet', target_service_ty: 'service', status: 'suspended', created_at: '2026-11-25T19:04:02.737Z', pinned_deployment_id: deploymentId },
          { id: ids.completed, target: 'Greeter/greet', target_service_ty: 'service', status: 'completed', created_at: '2026-11-25T19:04:03.737Z', pinned_deployment_id: deploymentId, completion_result: 'success' },
          { id: ids.failed, target: 'Greeter/greet', target_service_ty: 'service', status: 'completed', created_at: '2026-11-25T19:04:04.737Z', pinned_deployment_id: deploymentId, completion_result: 'failure', completion_failure: '[500] boom' },
          { id: ids.retrying, target: 'Greeter/greet', target_service_ty: 'service', status: 'backing-off', created_at: '2026-11-25T19:04:05.737Z', pinned_deployment_id: deploymentId },
        ]);
        const st = await rows("select id, status from sys_invocation_status where status == 'inboxed'");
        expect(st).toEqual([{ id: ids.inboxed, status: 'inboxed' }]);
      });

      it('runs the queries the restate CLI sends, in DataFusion dialect', async () => {
        const inList = `('${ids.running}','${ids.suspended}')`;
        const cli = [
          `SELECT COUNT(1) AS inv_count FROM sys_invocation_status WHERE pinned_deployment_id = '${deploymentId}' AND status != 'completed'`,
          `SELECT target_service_name as service, target_handler_name as handler, COUNT(1) AS inv_count FROM sys_invocation_status WHERE pinned_deployment_id = '${deploymentId}' AND status != 'completed' GROUP BY pinned_deployment_id, target_service_name, target_handler_name`,
          "SELECT COUNT(1) FROM (SELECT\n            *\n        FROM sys_invocation inv\n        LIMIT 50000\n        )\n        WHERE inv.target_service_name IN (select name from sys_service where ty = 'virtual_object') AND status != 'completed'",
          `SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000 ) WHERE (inv.pinned_deployment_id IS NOT NULL AND inv.pinned_deployment_id NOT IN (select id from sys_deployment)) AND status != 'completed'`,
          "SELECT id FROM sys_invocation inv WHERE status IN ('backing-off','pending','running') ORDER BY inv.created_at DESC, inv.id LIMIT 100",
          `SELECT inv.id, inv.target, inv.target_service_ty, inv.idempotency_key, inv.status, inv.created_at, inv.modified_at as state_modified_at, inv.pinned_deployment_id, inv.retry_count as num_retries, inv.last_failure as last_failure_message, inv.last_failure_related_entry_index as last_failure_entry_index, inv.last_failure_related_entry_name as last_failure_entry_name, inv.last_failure_related_entry_type as last_failure_entry_ty, inv.last_attempt_deployment_id, inv.last_attempt_server, inv.next_retry_at, inv.last_start_at, inv.invoked_by_id, inv.invoked_by_target, inv.trace_id, inv.completion_result, inv.completion_failure, dp.id IS NOT NULL as pinned_deployment_exists FROM sys_invocation inv LEFT JOIN sys_deployment dp ON dp.id = inv.pinned_deployment_id WHERE status != 'completed' AND inv.id in ${inList} ORDER BY inv.created_at DESC, inv.id`,
          "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'sys_journal' AND column_name IN ('promise_name')",
          "SELECT target_service_name, target_handler_name, 'pending' as status, COUNT(1) as num_invocations, MIN(created_at) as oldest_at, FIRST_VALUE(id ORDER BY created_at ASC) as oldest_invocation FROM sys_invocation_status WHERE status == 'inboxed' AND target_service_name IN ('Greeter','Counter') GROUP BY target_service_name, target_handler_name",
          "SELECT service_name, service_key, COUNT(1) as num_pending FROM sys_inbox WHERE service_name IN ('Counter') GROUP BY service_name, service_key ORDER BY num_pending DESC",
          "SELECT target_service_name as service_name, target_service_key as service_key, status as invocation_status, first_value(id) as invocation_holding_lock, first_value(target_handler_name) as invocation_method_holding_lock, first_value(created_at) as invocation_created_at, first_value(modified_at) as modified_at, first_value(pinned_deployment_id) as pinned_deployment_id, first_value(last_attempt_deployment_id) as last_attempt_deployment_id, first_value(last_failure) as last_failure_message, first_value(next_retry_at) as next_retry_at, first_value(last_start_at) as last_start_at, 0 as num_pending, sum(retry_count) as num_retries FROM sys_invocation WHERE status != 'pending' AND target_service_name IN ('Counter') GROUP BY target_service_name, target_service_key, status",
          "select key, value from state where service_name = 'Counter' and service_key = 'k1' ;",
          "SELECT service_name, service_key, key, value FROM state WHERE service_name = 'Counter'",
          "SELECT id, target FROM sys_invocation_status WHERE ((target = 'Greeter/greet' AND target_service_ty = 'service') OR (target LIKE 'Greeter/greet/%' AND target_service_ty != 'service')) AND status != 'completed' LIMIT 500",
          "select arrow_cast(count(*), 'Int64') as n from sys_invocation",
        ];
        for (const sql of cli) {
          const res = await request('POST', '/v4/query', { query: sql }, 'application/json');
          expect(res.status, `${sql}\n${text(res)}`).toBe(200);
        }
        const details = await rows(cli[5] as string);
        expect(details.map((r) => [r.id, r.status, r.pinned_deployment_exists])).toEqual([
          [ids.suspended, 'suspended', true],
          [ids.running, 'running', true],
        ]);
        expect(await rows(cli[7] as string)).toEqual([
          { target_service_name: 'Counter', target_handler_name: 'add', status: 'pending', num_invocations: 1, oldest_at: '2026-11-25T19:04:01.737Z', oldest_invocation: ids.inboxed },
        ]);
        expect(await rows(cli[8] as string)).toEqual([{ service_name: 'Counter', service_key: 'k1', num_pending: 1 }]);
        expect((await rows(cli[12] as string)).map((r) => r.id).sort()).toEqual([ids.suspended, ids.retrying].sort());
      });

      it('runs the queries the endure CLI sends', async () => {
        const now = T0 + 3_600_000 + 4500;
        const list = (o: Parameters<typeof invocationFilter>[0]) =>
          rows(`SELECT id, target, status, created_at, modified_at, pinned_deployment_id, completion_result FROM sys_invocation ${invocationFilter(o, now)} ORDER BY created_at DESC LIMIT 100`);
        expect((await list({})).map((r) => r.id)).toEqual([ids.retrying, ids.suspended, ids.inboxed, ids.running]);
        expect((await list({ all: true, service: 'Counter', key: 'k1' })).map((r) => r.id)).toEqual([ids.inboxed, ids.running]);
        expect((await list({ status: 'completed' })).map((r) => [r.id, r.completion_result])).toEqual([
          [ids.failed, 'failure'],
          [ids.completed, 'success'],
        ]);
        // Created more than an hour before `now`: all but the last one.
        expect((await list({ all: true, olderThan: '1h' })).map((r) => r.id)).toEqual([ids.failed, ids.completed, ids.suspended, ids.inboxed, ids.running]);
        const pausable = await rows(
          `SELECT id, target, status FROM sys_invocation WHERE ${targetCondition('Greeter/greet')} AND status IN ('running', 'ready', 'backing-off', 'suspended') ORDER BY created_at LIMIT 100`,
        );
        expect(pausable.map((r) => r.id)).toEqual([ids.suspended, ids.retrying]);
        const one = await rows(`SELECT * FROM sys_invocation WHERE id = '${ids.suspended}'`);
        expect(one).toHaveLength(1);
        expect(one[0]).toMatchObject({ id: ids.suspended, journal_size: 4, journal_commands_size: 3, invoked_by: 'ingress' });
        const journal = await rows(
          `SELECT "index", entry_type, name, completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name FROM sys_journal WHERE id = '${ids.suspended}' ORDER BY "index"`,
        );
        expect(journal.map((r) => r.entry_type)).toEqual(['Input', 'Sleep', 'Call', 'CallInvocationIdCompletionNotification', 'SleepCompletionNotification']);
        expect(await rows("SELECT invocation_id FROM sys_keyed_service_status WHERE service_name = 'Counter' AND service_key = 'k1'")).toEqual([
          { invocation_id: ids.running },
        ]);
      });

      it('runs the queries the web UI sends', async () => {
        expect(await rows('SELECT status, count(*) AS n FROM sys_invocation GROUP BY status ORDER BY status')).toEqual([
          { status: 'backing-off', n: 1 },
          { status: 'completed', n: 2 },
          { status: 'pending', n: 1 },
          { status: 'running', n: 1 },
          { status: 'suspended', n: 1 },
        ]);
        const failures = await rows(`SELECT id, target, status, last_failure, completion_failure, retry_count, modified_at FROM sys_invocation
          WHERE last_failure IS NOT NULL OR completion_failure IS NOT NULL ORDER BY modified_at DESC LIMIT 10`);
        expect(failures.map((r) => r.id)).toEqual([ids.retrying, ids.failed]);
        const window = `WHERE created_at >= '${new Date(T0 + 1000).toISOString()}' AND created_at < '${new Date(T0 + 3000).toISOString()}'`;
        expect((await rows(`SELECT id FROM sys_invocation ${window} ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET 0`)).map((r) => r.id)).toEqual([
          ids.suspended,
          ids.inboxed,
        ]);
        expect(await rows(`SELECT count(*) AS n FROM sys_invocation ${window}`)).toEqual([{ n: 2 }]);
        const keys = await rows(`SELECT service_key AS k FROM state WHERE service_name = 'Counter'
          UNION SELECT target_service_key FROM sys_invocation WHERE target_service_name = 'Counter' AND target_service_key IS NOT NULL
          ORDER BY 1 LIMIT 200`);
        expect(keys).toEqual([{ k: 'k1' }]);
        expect(
          await rows(`SELECT b.id, b.sequence_number, b.created_at, i.target FROM sys_inbox b LEFT JOIN sys_invocation i ON i.id = b.id
            WHERE b.service_name = 'Counter' AND b.service_key = 'k1' ORDER BY b.sequence_number`),
        ).toEqual([{ id: ids.inboxed, sequence_number: 1, created_at: '2026-11-25T19:04:01.737Z', target: 'Counter/k1/add' }]);
        const journal = await rows(`SELECT index, entry_type, name, completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name, raw
          FROM sys_journal WHERE id = '${ids.suspended}' ORDER BY index`);
        expect(journal.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
        expect(
          await rows(`SELECT id, target, status, created_at FROM sys_invocation WHERE invoked_by_id = '${ids.suspended}'
            OR id IN (SELECT invoked_id FROM sys_journal WHERE id = '${ids.suspended}' AND invoked_id IS NOT NULL) ORDER BY created_at`),
        ).toEqual([]);
      });

      it('every table has the same columns and values on both stores', async () => {
        const tables = await rows('SELECT DISTINCT table_name FROM information_schema.columns ORDER BY table_name');
        expect(tables.length).toBeGreaterThanOrEqual(11);
        for (const { table_name: table } of tables) {
          // The deployment was registered once per store: its id and time differ, nothing else.
          const answer = (await rows(`SELECT * FROM ${String(table)}`))
            .map((r) => JSON.stringify(r).replaceAll(deploymentId, '<deployment>'))
            .map((r) => (table === 'sys_deployment' ? r.replace(/"created_at":"[^"]+"/, '') : r))
            .sort();
          const columns = (await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${String(table)}' ORDER BY ordinal_position`)).map(
            (r) => `${String(r.column_name)} ${String(r.data_type)}`,
          );
          const seen = answersByTable.get(String(table));
          if (seen === undefined) answersByTable.set(String(table), { columns, answer });
          else expect({ columns, answer }, String(table)).toEqual(seen);
        }
      });

      it('answers counts as Int64 in an Arrow IPC stream when the client accepts anything', async () => {
        const t = await arrow("SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) WHERE status != 'completed'");
        expect(t.schema.fields.map((f) => String(f.type))).toEqual(['Int64']);
        expect(t.getChildAt(0)?.get(0)).toBe(4n);
        const cols = await arrow("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'sys_journal' AND column_name IN ('version', 'entry_json', 'appended_at')");
        expect(cols.getChildAt(0)?.get(0)).toBe(3n);
        const empty = await arrow("select id, status from sys_invocation where id = 'nope'");
        expect(empty.numRows).toBe(0);
        expect(empty.schema.fields.map((f) => f.name)).toEqual(['id', 'status']);
      });

      it("shows the invoker's view of attempts: running, backing off, retries, last failure, next retry", async () => {
        expect(await rows('select id, in_flight, retry_count, last_failure, last_failure_error_code, next_retry_at, last_start_at from sys_invocation_state order by id')).toEqual(
          [
            { id: ids.running, in_flight: true, retry_count: 0, last_start_at: '2026-11-25T19:04:00.747Z' },
            { id: ids.retrying, in_flight: false, retry_count: 3, last_failure: 'connection refused', last_failure_error_code: '503', next_retry_at: '2026-11-25T19:04:08.737Z', last_start_at: '2026-11-25T19:04:06.737Z' },
          ].sort((a, b) => (a.id < b.id ? -1 : 1)),
        );
        const r = await rows(`select status, retry_count, last_failure, last_attempt_deployment_id from sys_invocation where id = '${ids.retrying}'`);
        expect(r).toEqual([{ status: 'backing-off', retry_count: 3, last_failure: 'connection refused', last_attempt_deployment_id: deploymentId }]);
        // An invoked invocation no attempt has picked up is ready.
        const bare = fx.engine();
        try {
          expect((await bare.query(`select status from sys_invocation where id = '${ids.running}'`)).rows).toEqual([['ready']]);
        } finally {
          await bare.close();
        }
      });

      it('shows state values as hex in JSON and as bytes in Arrow', async () => {
        expect(await rows("select key, value, value_utf8 from state where service_name = 'Counter' and service_key = 'k1' order by key")).toEqual([
          { key: 'count', value: '3432', value_utf8: '42' },
          { key: 'name', value: '22616c22', value_utf8: '"al"' },
        ]);
        const t = await arrow("select key, value from state where service_name = 'Counter' order by key");
        expect(String(t.schema.fields[1]?.type)).toBe('Binary');
        expect(Buffer.from(t.getChildAt(1)?.get(0) as Uint8Array).toString()).toBe('42');
      });

      it('shows a journal with entry types, sleep wake-up times, call targets and callee ids', async () => {
        const r = await rows(`SELECT sj.index, sj.entry_type, sj.completed, sj.invoked_id, sj.invoked_target, sj.sleep_wakeup_at, sj.name, sj.promise_name, sj.version, sj.entry_json, sj.appended_at FROM sys_journal sj WHERE sj.id = '${ids.suspended}' ORDER BY index DESC LIMIT 100`);
        expect(r).toEqual([
          { index: 4, entry_type: 'SleepCompletionNotification', version: 1 },
          { index: 3, entry_type: 'CallInvocationIdCompletionNotification', version: 1 },
          { index: 2, entry_type: 'Call', completed: false, invoked_id: ids.callee, invoked_target: 'Counter/k3/add', version: 1 },
          { index: 1, entry_type: 'Sleep', completed: true, sleep_wakeup_at: '2026-11-25T19:05:00.737Z', name: 'nap', version: 1 },
          { index: 0, entry_type: 'Input', version: 1 },
        ]);
      });

      it('shows locks, idempotency keys, promises, services and deployments', async () => {
        expect(await rows('select service_name, service_key, invocation_id from sys_keyed_service_status')).toEqual([
          { service_name: 'Counter', service_key: 'k1', invocation_id: ids.running },
        ]);
        expect(await rows('select service_name, service_handler, idempotency_key, invocation_id, service_key from sys_idempotency')).toEqual([
          { service_name: 'Greeter', service_handler: 'greet', idempotency_key: 'req-1', invocation_id: ids.completed },
        ]);
        expect(await rows('select service_name, service_key, key, completed, completion_success_value_utf8 from sys_promise')).toEqual([
          { service_name: 'Signup', service_key: 'wf1', key: 'confirm', completed: true, completion_success_value_utf8: '"yes"' },
        ]);
        expect(await rows('select name, ty, revision, public, deployment_id from sys_service order by name')).toEqual([
          { name: 'Counter', ty: 'virtual_object', revision: 1, public: true, deployment_id: deploymentId },
          { name: 'Greeter', ty: 'service', revision: 1, public: true, deployment_id: deploymentId },
        ]);
        expect(await rows('select id, endpoint, ty from sys_deployment')).toEqual([{ id: deploymentId, endpoint: 'http://127.0.0.1:9080/', ty: 'http' }]);
      });

      it('answers bad SQL with 400 and the database message, and never writes', async () => {
        const before = await rows('select count(*) as n from state');
        const bad: [string, RegExp][] = [
          ['select * from no_such_table', backend.messages.noTable],
          ['select * fro state', backend.messages.syntax],
          ["delete from state where service_name = 'Counter'", /only SELECT and WITH/],
          ["insert into state values ('a','b','c','d')", /only SELECT and WITH/],
          ['select 1; delete from state', backend.messages.twoStatements],
          ["with x as (select 1) delete from state", backend.messages.writingCte],
          [backend.name === 'sqlite' ? 'select * from main.state' : 'select * from endure.state', /schema-qualified/],
          ['select * from journal', backend.name === 'sqlite' ? /no such table: journal/ : /relation "journal" does not exist/],
          ['WITH c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', /recursive/],
          ["attach database ':memory:' as x", /only SELECT and WITH/],
        ];
        for (const [sql, message] of bad) {
          const res = await request('POST', '/v4/query', { query: sql }, 'application/json');
          expect(res.status, sql).toBe(400);
          expect(res.headers['content-type']).toBe('application/json');
          expect((JSON.parse(text(res)) as { message: string }).message, sql).toMatch(message);
        }
        for (const body of ['{not json', {}, { query: 42 }, { query: '  ' }]) {
          expect((await request('POST', '/v4/query', body, 'application/json')).status).toBe(400);
        }
        expect(await rows('select count(*) as n from state')).toEqual(before);
        expect(before).toEqual([{ n: 2 }]);
      });
    });

    describe('query limits', () => {
      it('interrupts a query past its time limit without stalling the event loop, and runs the next one', async () => {
        const slow = fx.engine({ timeoutMs: 1000, maxRows: 1000 });
        try {
          const started = Date.now();
          const pending = slow.query(
            'select count(*) from information_schema.columns a, information_schema.columns b, information_schema.columns c, information_schema.columns d',
          );
          let queryEnded = 0;
          const outcome = pending.then(
            () => undefined,
            (err: unknown) => {
              queryEnded = Date.now();
              return err;
            },
          );
          // Meanwhile the event loop stays free and the store takes commits.
          for (let i = 0; i < 5; i++) await store.transaction(async (tx) => tx.setState('Busy', 'k', utf8(`n${i}`), utf8('1')));
          const writesEnded = Date.now();
          const err = await outcome;
          expect(err).toMatchObject({ kind: 'timeout' });
          expect(writesEnded).toBeLessThan(queryEnded);
          expect(queryEnded - started).toBeGreaterThanOrEqual(1000);
          expect((await slow.query('select count(*) from state')).rows).toEqual([[7]]);
        } finally {
          await slow.close();
        }
      });

      it('refuses a result with more rows than the limit', async () => {
        const small = fx.engine({ timeoutMs: 5000, maxRows: 3 });
        try {
          await expect(small.query('select id from sys_invocation')).rejects.toMatchObject({ kind: 'too-many-rows' });
          expect((await small.query('select id from sys_invocation limit 3')).rows).toHaveLength(3);
        } finally {
          await small.close();
        }
      });
    });
  });
}
