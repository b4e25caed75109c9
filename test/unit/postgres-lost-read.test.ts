// A read of the PostgreSQL partition store whose connection dies half-way fails once, to its
// caller: none of its statements is left to reject with nobody listening, which Node treats as
// an uncaught error and ends the whole node for (a node losing PostgreSQL must answer 503, not exit).
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresBackend } from '../../src/store/postgres/backend.ts';
import type { StoreBackend } from '../../src/store/index.ts';
import { createTestDatabase, type TestDatabase } from '../harness/postgres.ts';

let db: TestDatabase;
let backend: StoreBackend;
let admin: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  backend = await openPostgresBackend({ url: db.url, schema: 'endure' });
  admin = postgres(db.url, { max: 2, onnotice: () => undefined });
});

afterAll(async () => {
  await backend?.close();
  await admin?.end();
  await db?.drop();
});

describe('a PostgreSQL read whose connection is lost', () => {
  it('loading an invocation rejects once and leaves no statement rejecting unobserved', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await admin.begin(async (tx) => {
        // The journal statement (sent first) waits on this lock; the status statement is queued behind it.
        await tx`LOCK TABLE endure.journal IN ACCESS EXCLUSIVE MODE`;
        const load = backend.partitions.loadInvocation('inv_1aQyGD1ut4kB0jMgZXFeRsbakEwaP23Rrs', () => false);
        const outcome = load.then(
          () => 'resolved',
          () => 'rejected',
        );
        for (;;) {
          const waiting = await admin<{ pid: number }[]>`
            SELECT pid FROM pg_stat_activity WHERE datname = ${db.name} AND wait_event_type = 'Lock'`;
          if (waiting.length > 0) {
            await admin`SELECT pg_terminate_backend(${waiting[0]!.pid})`;
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(await outcome).toBe('rejected');
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
