import { decodeFlowLimiter, decodeFlowRule, decodeScheduleRecord } from '../../log/index.ts';
import type { FlowLimiter, FlowRule } from '../../flow/model.ts';
import type { ScheduleRecord } from '../../schedule/model.ts';
import type { InvocationStatus } from '../../types/index.ts';
import type { ClusterNode, PartitionLease } from '../leases.ts';
import type { FsmRecord, JournalEntry, PartitionStore, PartitionTx, TimerRecord } from '../partition.ts';
import { decodeStatus } from '../records.ts';
import type { PgPool, PgSql } from './db.ts';
import { refusal } from './refusal.ts';
import { PgTransaction, readAllState, readJournal, readStateUpTo, toFsm, toTimer, type FsmRow, type TimerRow } from './transaction.ts';

/**
 * The partition store on PostgreSQL.
 *
 * Transactions run one at a time, in the order they were asked for, each on a connection
 * reserved from the pool for its length; inside one, writes are pipelined (sent without
 * waiting for their answers), so a batch costs one round trip per read it needs rather than
 * one per statement. A commit is durable when COMMIT returns (synchronous_commit), so
 * `commit()` hands back an already-resolved `durable`.
 *
 * Reads outside a transaction run on the pool, concurrently with each other. A read issued
 * while a transaction is open waits until that transaction has finished, so it sees all of it
 * or none of it; it never sees uncommitted writes (read committed).
 */
export class PostgresPartitionStore implements PartitionStore {
  readonly #pool: PgPool;
  /** Settles when every transaction asked for so far has finished. */
  #queue: Promise<unknown> = Promise.resolve();
  #current: PgTransaction | undefined;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  get #sql(): PgSql {
    return this.#pool.sql;
  }

  async transaction<T>(fn: (tx: PartitionTx) => Promise<T>): Promise<T> {
    return (await this.commit(fn)).value;
  }

  async commit<T>(fn: (tx: PartitionTx) => Promise<T>): Promise<{ value: T; durable: Promise<void> }> {
    const run = this.#queue.then(() => this.#run(fn));
    this.#queue = run.catch(() => undefined);
    return { value: await run, durable: Promise.resolve() };
  }

  async #run<T>(fn: (tx: PartitionTx) => Promise<T>): Promise<T> {
    const pool = this.#pool;
    const generation = pool.generation;
    const conn = await pool.sql.reserve();
    const tx = new PgTransaction(conn, pool, generation);
    this.#current = tx;
    try {
      tx.begin();
      const value = await fn(tx);
      await tx.commit();
      return value;
    } catch (err) {
      // Whatever failed (the function, a statement, COMMIT), the connection must leave with
      // no transaction open; if that cannot be made sure of, it must not serve anyone again.
      if (!(await tx.close())) pool.discard(generation);
      throw refusal(err) ?? err;
    } finally {
      this.#current = undefined;
      // A connection of a retired pool is never handed back: it may have closed.
      if (pool.generation === generation) conn.release();
    }
  }

  savepoint<T>(tx: PartitionTx, fn: () => Promise<T>): Promise<T> {
    if (tx !== this.#current) throw new Error('savepoint outside the open transaction of this store');
    return this.#current.savepoint(fn);
  }

  /** Runs a read on the pool once the transaction open at the time of the call has finished. */
  #read<T>(fn: (sql: PgSql) => Promise<T>): Promise<T> {
    return this.#queue.then(() => {
      const pool = this.#pool;
      const generation = pool.generation;
      return pool.guard(generation, fn(pool.sql));
    });
  }

  getInvocation(id: string): Promise<InvocationStatus | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql<{ data: Uint8Array }[]>`SELECT data FROM invocation WHERE id = ${id}`;
      return row ? decodeStatus(row.data) : undefined;
    });
  }

  readJournal(id: string): Promise<JournalEntry[]> {
    return this.#read((sql) => readJournal(sql, id));
  }

  /** Status, journal and state from one snapshot (a read-only repeatable-read transaction). */
  loadInvocation(id: string, withState: (status: InvocationStatus) => boolean, maxStateBytes = Infinity) {
    return this.#read((sql) =>
      sql.begin('isolation level repeatable read read only', async (snap) => {
        // Both statements are in flight at once; awaited together, so that when the connection
        // dies the one that fails second still has a listener (an unobserved rejection ends the
        // process).
        const [[row], entries] = await Promise.all([
          snap<{ data: Uint8Array }[]>`SELECT data FROM invocation WHERE id = ${id}`,
          readJournal(snap as unknown as PgSql, id),
        ]);
        if (!row) return undefined;
        const status = decodeStatus(row.data);
        const t = status.target;
        const state = withState(status)
          ? await readStateUpTo(snap as unknown as PgSql, t.service, t.key ?? '', maxStateBytes)
          : undefined;
        return { status, journal: entries, state };
      }),
    );
  }

  getAllState(service: string, key: string): Promise<[Uint8Array, Uint8Array][]> {
    return this.#read((sql) => readAllState(sql, service, key));
  }

  listInvocationsInPhase(partition: number, phase: InvocationStatus['phase']): Promise<string[]> {
    return this.#read(async (sql) =>
      (await sql<{ id: string }[]>`SELECT id FROM invocation WHERE partition = ${partition} AND status = ${phase}`).map((r) => r.id),
    );
  }

  listTimers(partition: number, window?: { after: number; upTo: number }): Promise<TimerRecord[]> {
    return this.#read(async (sql) => {
      const rows = window
        ? await sql<TimerRow[]>`SELECT partition, timer_key, fire_at, payload FROM timer
            WHERE partition = ${partition} AND fire_at > ${window.after} AND fire_at <= ${window.upTo} ORDER BY fire_at`
        : await sql<TimerRow[]>`SELECT partition, timer_key, fire_at, payload FROM timer WHERE partition = ${partition} ORDER BY fire_at`;
      return rows.map(toTimer);
    });
  }

  listOutbox(partition: number): Promise<{ seq: number; payload: Uint8Array }[]> {
    return this.#read(async (sql) => [
      ...(await sql<{ seq: number; payload: Uint8Array }[]>`SELECT seq, payload FROM outbox WHERE partition = ${partition} ORDER BY seq`),
    ]);
  }

  getFsm(partition: number): Promise<FsmRecord> {
    return this.#read(async (sql) => {
      const [row] = await sql<FsmRow[]>`SELECT applied_lsn, epoch, outbox_seq, inbox_seq FROM fsm WHERE partition = ${partition}`;
      return toFsm(row);
    });
  }

  getSchedule(partition: number, id: string): Promise<ScheduleRecord | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql<{ data: Uint8Array }[]>`SELECT data FROM schedule WHERE partition = ${partition} AND id = ${id}`;
      return row ? decodeScheduleRecord(row.data) : undefined;
    });
  }

  listSchedules(partition: number): Promise<ScheduleRecord[]> {
    return this.#read(async (sql) =>
      (await sql<{ data: Uint8Array }[]>`SELECT data FROM schedule WHERE partition = ${partition} ORDER BY id`).map((r) =>
        decodeScheduleRecord(r.data),
      ),
    );
  }

  listFlowRules(partition: number): Promise<FlowRule[]> {
    return this.#read(async (sql) =>
      (await sql<{ data: Uint8Array }[]>`SELECT data FROM flow_rule WHERE partition = ${partition} ORDER BY id`).map((r) => decodeFlowRule(r.data)),
    );
  }

  getFlowRule(partition: number, id: string): Promise<FlowRule | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql<{ data: Uint8Array }[]>`SELECT data FROM flow_rule WHERE partition = ${partition} AND id = ${id}`;
      return row ? decodeFlowRule(row.data) : undefined;
    });
  }

  listFlowLimiters(partition: number, rule: string): Promise<FlowLimiter[]> {
    return this.#read(async (sql) =>
      (await sql<{ data: Uint8Array }[]>`SELECT data FROM flow_limiter WHERE partition = ${partition} AND rule = ${rule} ORDER BY limit_key`).map((r) =>
        decodeFlowLimiter(r.data),
      ),
    );
  }

  readLog(partition: number, afterLsn: number): Promise<{ lsn: number; payload: Uint8Array }[]> {
    return this.#read(async (sql) => [
      ...(await sql<{ lsn: number; payload: Uint8Array }[]>`SELECT lsn, payload FROM log WHERE partition = ${partition} AND lsn > ${afterLsn} ORDER BY lsn`),
    ]);
  }

  trimLog(partition: number, upToLsn: number): Promise<void> {
    return this.#read(async (sql) => {
      await sql`DELETE FROM log WHERE partition = ${partition} AND lsn <= ${upToLsn}`;
    });
  }

  // Leases are statements of their own on the pool, never queued behind this store's
  // transactions: the row lock a batch takes in lockEpoch is what a takeover waits for.

  /** Runs `fn` on the live pool, failing if that pool is retired before it is answered. */
  #direct<T>(fn: (sql: PgSql) => Promise<T>): Promise<T> {
    const pool = this.#pool;
    return pool.guard(pool.generation, fn(pool.sql));
  }

  async acquireLease(partition: number, leader: string, now: number, ttlMs: number): Promise<PartitionLease | undefined> {
    const [row] = await this.#direct((sql) => sql<LeaseRow[]>`
      INSERT INTO partitions AS p (partition, leader, epoch, lease_expires_at) VALUES (${partition}, ${leader}, 1, ${now + ttlMs})
      ON CONFLICT (partition) DO UPDATE SET leader = excluded.leader, epoch = p.epoch + 1, lease_expires_at = excluded.lease_expires_at
        WHERE p.lease_expires_at <= ${now} OR p.leader = excluded.leader
      RETURNING partition, leader, epoch, lease_expires_at`);
    return row ? toLease(row) : undefined;
  }

  async renewLease(partition: number, leader: string, epoch: number, now: number, ttlMs: number): Promise<boolean> {
    const rows = await this.#direct(
      (sql) => sql`
        UPDATE partitions SET lease_expires_at = ${now + ttlMs}
        WHERE partition = ${partition} AND leader = ${leader} AND epoch = ${epoch}`,
    );
    return rows.count === 1;
  }

  async releaseLease(partition: number, leader: string, epoch: number): Promise<void> {
    await this.#direct(
      (sql) => sql`UPDATE partitions SET lease_expires_at = 0 WHERE partition = ${partition} AND leader = ${leader} AND epoch = ${epoch}`,
    );
  }

  async listLeases(): Promise<PartitionLease[]> {
    const rows = await this.#direct((sql) => sql<LeaseRow[]>`SELECT partition, leader, epoch, lease_expires_at FROM partitions ORDER BY partition`);
    return rows.map(toLease);
  }

  async heartbeat(name: string, address: string, secret: string, now: number, ttlMs: number): Promise<void> {
    await this.#direct(
      (sql) => sql`
        INSERT INTO nodes (name, address, secret, heartbeat_at, expires_at) VALUES (${name}, ${address}, ${secret}, ${now}, ${now + ttlMs})
        ON CONFLICT (name) DO UPDATE SET address = excluded.address, secret = excluded.secret,
          heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
    );
  }

  async leaveCluster(name: string): Promise<void> {
    await this.#direct((sql) => sql`DELETE FROM nodes WHERE name = ${name}`);
  }

  async listNodes(now: number): Promise<ClusterNode[]> {
    const rows = await this.#direct(
      (sql) => sql<{ name: string; address: string; secret: string; expires_at: number }[]>`
        SELECT name, address, secret, expires_at FROM nodes WHERE expires_at > ${now} ORDER BY name`,
    );
    return rows.map((r) => ({ name: r.name, address: r.address, secret: r.secret, expiresAt: Number(r.expires_at) }));
  }

  /** Waits for the transactions asked for so far; the pool itself belongs to the backend. */
  async close(): Promise<void> {
    await this.#queue;
  }
}

interface LeaseRow {
  partition: number;
  leader: string;
  epoch: number;
  lease_expires_at: number;
}

function toLease(r: LeaseRow): PartitionLease {
  return { partition: r.partition, leader: r.leader, epoch: r.epoch, expiresAt: r.lease_expires_at };
}
