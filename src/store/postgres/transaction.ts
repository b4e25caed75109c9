import type postgres from 'postgres';
import { decodeFlowLimiter, decodeFlowRule, decodeScheduleRecord, encodeFlowLimiter, encodeFlowRule, encodeScheduleRecord } from '../../log/index.ts';
import type { FlowLimiter, FlowRule } from '../../flow/model.ts';
import type { ScheduleRecord } from '../../schedule/model.ts';
import type { FsmRecord, JournalEntry, PartitionTx, TimerRecord } from '../partition.ts';
import {
  decodeResult,
  decodeStatus,
  decodeTimerPayload,
  decodeWaiters,
  encodeResult,
  encodeStatus,
  encodeTimerPayload,
  encodeWaiters,
} from '../records.ts';
import { ConnectionLostError, type PgPool, type PgSql } from './db.ts';
import { refusal } from './refusal.ts';

/** Type code of signal notifications: their id lives in completion_id / signal_name. */
const SIGNAL_TYPE = 0xfbff;
/** Completion notifications have type codes from here up to (not including) SIGNAL_TYPE. */
const NOTIFICATION_TYPES = 0x8000;

/** A pending query of the `postgres` client. */
type Query = postgres.PendingQuery<postgres.Row[]>;

/** SQLSTATE of a statement refused because an earlier one failed in the same transaction. */
const IN_FAILED_TRANSACTION = '25P02';

export interface FsmRow {
  applied_lsn: number;
  epoch: number;
  outbox_seq: number;
  inbox_seq: number;
}

export interface TimerRow {
  partition: number;
  timer_key: string;
  fire_at: number;
  payload: Uint8Array;
}

interface JournalRow {
  idx: number;
  type: number;
  completion_id: number | null;
  signal_name: string | null;
  body: Uint8Array;
}

/** The fsm record of a row, or the all-zero record of a partition never written. */
export function toFsm(row: FsmRow | undefined): FsmRecord {
  return row
    ? { appliedLsn: row.applied_lsn, epoch: row.epoch, outboxSeq: row.outbox_seq, inboxSeq: row.inbox_seq }
    : { appliedLsn: 0, epoch: 0, outboxSeq: 0, inboxSeq: 0 };
}

export function toTimer(r: TimerRow): TimerRecord {
  return { partition: r.partition, key: r.timer_key, fireAt: r.fire_at, payload: decodeTimerPayload(r.payload) };
}

function toJournal(rows: readonly JournalRow[]): JournalEntry[] {
  return rows.map((r) => ({
    index: r.idx,
    type: r.type,
    completionId: r.completion_id ?? undefined,
    signalName: r.signal_name ?? undefined,
    body: r.body,
  }));
}

function journalQuery(sql: PgSql, id: string) {
  return sql<JournalRow[]>`SELECT idx, type, completion_id, signal_name, body FROM journal WHERE invocation_id = ${id} ORDER BY idx`;
}

function stateQuery(sql: PgSql, service: string, key: string) {
  return sql<{ name: Uint8Array; value: Uint8Array }[]>`SELECT name, value FROM state WHERE service = ${service} AND key = ${key} ORDER BY name`;
}

export async function readJournal(sql: PgSql, id: string): Promise<JournalEntry[]> {
  return toJournal(await journalQuery(sql, id));
}

/**
 * The key's state, or undefined when its names and values pass `maxBytes`. The size comes
 * first from octet_length, which PostgreSQL answers from a value's header without fetching it.
 */
export async function readStateUpTo(sql: PgSql, service: string, key: string, maxBytes: number): Promise<[Uint8Array, Uint8Array][] | undefined> {
  if (Number.isFinite(maxBytes)) {
    const [row] = await sql<{ size: string | null }[]>`
      SELECT sum(octet_length(name) + octet_length(value)) AS size FROM state WHERE service = ${service} AND key = ${key}`;
    if (Number(row?.size ?? 0) > maxBytes) return undefined;
  }
  return readAllState(sql, service, key);
}

export async function readAllState(sql: PgSql, service: string, key: string): Promise<[Uint8Array, Uint8Array][]> {
  return (await stateQuery(sql, service, key)).map((r) => [r.name, r.value]);
}

/**
 * One transaction on a reserved connection. Writes are sent without waiting for their answer:
 * the connection runs statements in order, so a later read sees them, and the first failure
 * is kept and reported at the next point that waits (a read, the end of a savepoint, COMMIT),
 * instead of the "transaction is aborted" errors of the statements after it.
 *
 * States: open → committed | rolled back. A failed write puts the transaction in "failed"
 * until the savepoint it happened in is rolled back; COMMIT of a failed transaction throws.
 */
export class PgTransaction implements PartitionTx {
  readonly #conn: PgSql;
  /** Answers of the writes sent since the last wait; they never reject (failures land in #failed). */
  #sent: Promise<void>[] = [];
  #failed: unknown;
  #savepoints = 0;
  /** True from BEGIN until COMMIT or ROLLBACK has been answered. */
  #open = true;

  readonly #pool: PgPool;
  readonly #generation: number;

  /** @param generation the pool generation `conn` belongs to: once retired, nothing is sent on it. */
  constructor(conn: postgres.ReservedSql<Record<string, never>>, pool: PgPool, generation: number) {
    this.#conn = conn as unknown as PgSql;
    this.#pool = pool;
    this.#generation = generation;
  }

  #connected(): boolean {
    return this.#pool.generation === this.#generation;
  }

  #guard<T>(work: Promise<T>): Promise<T> {
    return this.#pool.guard(this.#generation, work);
  }

  /** Sends BEGIN without waiting: it travels with the first statements of the transaction. */
  begin(): void {
    this.#send(this.#conn`BEGIN`);
  }

  /** COMMIT; throws (and nothing is committed) if any statement of the transaction failed. */
  async commit(): Promise<void> {
    const result = await this.#wait(this.#conn`COMMIT`);
    this.#open = false;
    // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK rather than an error.
    if (result.command !== 'COMMIT') throw new Error(`the transaction was rolled back (${result.command})`);
  }

  /**
   * Ends the transaction if it is still open (ROLLBACK). Resolves false when the connection's
   * state is unknown (the ROLLBACK failed), true when no transaction is left open on it.
   */
  async close(): Promise<boolean> {
    await this.#settle();
    // A lost connection rolled the transaction back on the server already.
    if (!this.#open || !this.#connected()) return true;
    try {
      await this.#guard(this.#conn`ROLLBACK`);
      this.#open = false;
      return true;
    } catch {
      return !this.#connected();
    }
  }

  /** Runs `fn` inside a savepoint: a throw, or a failed statement, undoes only its writes. */
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#failed !== undefined) throw this.#failed;
    const name = `sp${this.#savepoints++}`;
    try {
      this.#send(this.#conn.unsafe(`SAVEPOINT ${name}`));
      let value: T;
      try {
        value = await fn();
        await this.#wait(this.#conn.unsafe(`RELEASE SAVEPOINT ${name}`));
      } catch (err) {
        await this.#settle();
        // A refused write (connection lost, disk full) is no verdict on what ran in the
        // savepoint: the whole transaction fails, and stays failed until it is rolled back.
        const refused = refusal(err) ?? refusal(this.#failed);
        if (refused) {
          this.#failed ??= refused;
          throw refused;
        }
        // Rolling back to the savepoint also clears a failure that happened after it.
        this.#failed = undefined;
        try {
          if (!this.#connected()) throw new ConnectionLostError();
          await this.#guard(this.#conn.unsafe(`ROLLBACK TO SAVEPOINT ${name}`));
          await this.#guard(this.#conn.unsafe(`RELEASE SAVEPOINT ${name}`));
        } catch (cleanup) {
          this.#failed = cleanup;
        }
        throw err;
      }
      return value;
    } finally {
      this.#savepoints--;
    }
  }

  #send(query: Query): void {
    if (!this.#connected()) {
      this.#failed ??= new ConnectionLostError();
      return;
    }
    this.#sent.push(
      query.then(
        () => undefined,
        (err: unknown) => {
          this.#failed ??= err;
        },
      ),
    );
  }

  /** Waits for the answers of every write sent so far. */
  async #settle(): Promise<void> {
    while (this.#sent.length > 0) {
      const sent = this.#sent;
      this.#sent = [];
      try {
        await this.#guard(Promise.all(sent));
      } catch (err) {
        this.#failed ??= err;
        this.#sent = [];
        return;
      }
    }
  }

  /** Sends `query` behind the pending writes and waits for it; reports the first failure. */
  async #wait<R extends postgres.Row[]>(query: postgres.PendingQuery<R>): Promise<postgres.RowList<R>> {
    if (!this.#connected()) this.#failed ??= new ConnectionLostError();
    if (this.#failed !== undefined) {
      // Queries are sent only once awaited: this one never leaves.
      await this.#settle();
      throw this.#failed;
    }
    let result: postgres.RowList<R> | undefined;
    let error: unknown;
    try {
      result = await this.#guard(query);
    } catch (err) {
      error = err;
    }
    await this.#settle();
    if (this.#failed !== undefined) throw this.#failed;
    if (error !== undefined) {
      if ((error as { code?: string }).code === IN_FAILED_TRANSACTION) this.#failed = error;
      throw error;
    }
    return result!;
  }

  async getFsm(partition: number): Promise<FsmRecord> {
    const [row] = await this.#wait(this.#conn<FsmRow[]>`SELECT applied_lsn, epoch, outbox_seq, inbox_seq FROM fsm WHERE partition = ${partition}`);
    return toFsm(row);
  }
  async putFsm(partition: number, f: FsmRecord): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO fsm (partition, applied_lsn, epoch, outbox_seq, inbox_seq)
      VALUES (${partition}, ${f.appliedLsn}, ${f.epoch}, ${f.outboxSeq}, ${f.inboxSeq})
      ON CONFLICT (partition) DO UPDATE SET applied_lsn = excluded.applied_lsn, epoch = excluded.epoch,
        outbox_seq = excluded.outbox_seq, inbox_seq = excluded.inbox_seq`);
  }
  async appendLog(partition: number, lsn: number, payload: Uint8Array): Promise<void> {
    this.#send(this.#conn`INSERT INTO log (partition, lsn, payload) VALUES (${partition}, ${lsn}, ${payload})`);
  }

  async getInvocation(id: string) {
    const [row] = await this.#wait(this.#conn<{ data: Uint8Array }[]>`SELECT data FROM invocation WHERE id = ${id}`);
    return row ? decodeStatus(row.data) : undefined;
  }
  async putInvocation(st: Parameters<PartitionTx['putInvocation']>[0]): Promise<void> {
    const data = encodeStatus(st);
    this.#send(this.#conn`
      INSERT INTO invocation (id, partition, status, service, handler, key, idempotency_key, created_at, modified_at, completed_at, data)
      VALUES (${st.id}, ${st.partition}, ${st.phase}, ${st.target.service}, ${st.target.handler}, ${st.target.key ?? null},
        ${st.idempotencyKey ?? null}, ${st.createdAt}, ${st.modifiedAt}, ${st.completedAt ?? null}, ${data})
      ON CONFLICT (id) DO UPDATE SET status = excluded.status, modified_at = excluded.modified_at,
        completed_at = excluded.completed_at, data = excluded.data`);
  }
  async deleteInvocation(id: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM invocation WHERE id = ${id}`);
  }

  async appendJournal(id: string, e: JournalEntry): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO journal (invocation_id, idx, type, completion_id, signal_name, body)
      VALUES (${id}, ${e.index}, ${e.type}, ${e.completionId ?? null}, ${e.signalName ?? null}, ${e.body})`);
  }
  async readJournal(id: string): Promise<JournalEntry[]> {
    return toJournal(await this.#wait(journalQuery(this.#conn, id)));
  }
  async hasCompletion(id: string, completionId: number): Promise<boolean> {
    const rows = await this.#wait(this.#conn`
      SELECT 1 FROM journal WHERE invocation_id = ${id} AND completion_id = ${completionId}
        AND type >= ${NOTIFICATION_TYPES} AND type < ${SIGNAL_TYPE} LIMIT 1`);
    return rows.length > 0;
  }
  async hasSignal(id: string, signal: number | string): Promise<boolean> {
    const rows =
      typeof signal === 'number'
        ? await this.#wait(this.#conn`SELECT 1 FROM journal WHERE invocation_id = ${id} AND type = ${SIGNAL_TYPE} AND completion_id = ${signal} LIMIT 1`)
        : await this.#wait(this.#conn`SELECT 1 FROM journal WHERE invocation_id = ${id} AND type = ${SIGNAL_TYPE} AND signal_name = ${signal} LIMIT 1`);
    return rows.length > 0;
  }
  async deleteJournal(id: string, fromIndex = 0): Promise<void> {
    this.#send(this.#conn`DELETE FROM journal WHERE invocation_id = ${id} AND idx >= ${fromIndex}`);
  }

  async getPromise(service: string, key: string, name: string) {
    const [row] = await this.#wait(
      this.#conn<{ result: Uint8Array | null; waiters: Uint8Array }[]>`
        SELECT result, waiters FROM promise WHERE service = ${service} AND key = ${key} AND name = ${name}`,
    );
    if (!row) return undefined;
    return { result: row.result ? decodeResult(row.result) : undefined, waiters: decodeWaiters(row.waiters) };
  }
  async putPromise(service: string, key: string, name: string, p: Parameters<PartitionTx['putPromise']>[3]): Promise<void> {
    const result = p.result ? encodeResult(p.result) : null;
    const waiters = encodeWaiters(p.waiters);
    this.#send(this.#conn`
      INSERT INTO promise (service, key, name, result, waiters) VALUES (${service}, ${key}, ${name}, ${result}, ${waiters})
      ON CONFLICT (service, key, name) DO UPDATE SET result = excluded.result, waiters = excluded.waiters`);
  }
  async deleteAllPromises(service: string, key: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM promise WHERE service = ${service} AND key = ${key}`);
  }

  async getState(service: string, key: string, name: Uint8Array): Promise<Uint8Array | undefined> {
    const [row] = await this.#wait(
      this.#conn<{ value: Uint8Array }[]>`SELECT value FROM state WHERE service = ${service} AND key = ${key} AND name = ${name}`,
    );
    return row?.value;
  }
  async getAllState(service: string, key: string): Promise<[Uint8Array, Uint8Array][]> {
    return (await this.#wait(stateQuery(this.#conn, service, key))).map((r) => [r.name, r.value]);
  }
  async setState(service: string, key: string, name: Uint8Array, value: Uint8Array): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO state (service, key, name, value) VALUES (${service}, ${key}, ${name}, ${value})
      ON CONFLICT (service, key, name) DO UPDATE SET value = excluded.value`);
  }
  async clearState(service: string, key: string, name: Uint8Array): Promise<void> {
    this.#send(this.#conn`DELETE FROM state WHERE service = ${service} AND key = ${key} AND name = ${name}`);
  }
  async clearAllState(service: string, key: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM state WHERE service = ${service} AND key = ${key}`);
  }

  async getLock(service: string, key: string): Promise<string | undefined> {
    const [row] = await this.#wait(
      this.#conn<{ invocation_id: string }[]>`SELECT invocation_id FROM object_lock WHERE service = ${service} AND key = ${key}`,
    );
    return row?.invocation_id;
  }
  async setLock(service: string, key: string, id: string): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO object_lock (service, key, invocation_id) VALUES (${service}, ${key}, ${id})
      ON CONFLICT (service, key) DO UPDATE SET invocation_id = excluded.invocation_id`);
  }
  async deleteLock(service: string, key: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM object_lock WHERE service = ${service} AND key = ${key}`);
  }

  async pushInbox(partition: number, service: string, key: string, seq: number, id: string): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO inbox (partition, service, key, seq, invocation_id) VALUES (${partition}, ${service}, ${key}, ${seq}, ${id})`);
  }
  async popInbox(service: string, key: string): Promise<string | undefined> {
    const [row] = await this.#wait(this.#conn<{ invocation_id: string }[]>`
      DELETE FROM inbox WHERE (service, key, seq) IN (
        SELECT service, key, seq FROM inbox WHERE service = ${service} AND key = ${key} ORDER BY seq LIMIT 1)
      RETURNING invocation_id`);
    return row?.invocation_id;
  }

  async putOutbox(partition: number, seq: number, payload: Uint8Array): Promise<void> {
    this.#send(this.#conn`INSERT INTO outbox (partition, seq, payload) VALUES (${partition}, ${seq}, ${payload})`);
  }
  async deleteOutboxUpTo(partition: number, seq: number): Promise<void> {
    this.#send(this.#conn`DELETE FROM outbox WHERE partition = ${partition} AND seq <= ${seq}`);
  }

  async hasOutbox(partition: number): Promise<boolean> {
    const rows = await this.#wait(this.#conn<{ one: number }[]>`SELECT 1 AS one FROM outbox WHERE partition = ${partition} LIMIT 1`);
    return rows.length > 0;
  }

  async putTimer(t: TimerRecord): Promise<void> {
    const payload = encodeTimerPayload(t.payload);
    this.#send(this.#conn`
      INSERT INTO timer (partition, fire_at, timer_key, payload) VALUES (${t.partition}, ${t.fireAt}, ${t.key}, ${payload})
      ON CONFLICT (partition, timer_key) DO UPDATE SET fire_at = excluded.fire_at, payload = excluded.payload`);
  }
  async getTimer(partition: number, key: string): Promise<TimerRecord | undefined> {
    const [row] = await this.#wait(this.#conn<TimerRow[]>`
      SELECT partition, timer_key, fire_at, payload FROM timer WHERE partition = ${partition} AND timer_key = ${key}`);
    return row ? toTimer(row) : undefined;
  }
  async deleteTimer(partition: number, key: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM timer WHERE partition = ${partition} AND timer_key = ${key}`);
  }

  async getIdempotency(service: string, key: string, handler: string, ik: string): Promise<string | undefined> {
    const [row] = await this.#wait(this.#conn<{ invocation_id: string }[]>`
      SELECT invocation_id FROM idempotency
      WHERE service = ${service} AND key = ${key} AND handler = ${handler} AND idempotency_key = ${ik}`);
    return row?.invocation_id;
  }
  async putIdempotency(service: string, key: string, handler: string, ik: string, id: string): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO idempotency (service, key, handler, idempotency_key, invocation_id)
      VALUES (${service}, ${key}, ${handler}, ${ik}, ${id})
      ON CONFLICT (service, key, handler, idempotency_key) DO UPDATE SET invocation_id = excluded.invocation_id`);
  }
  async deleteIdempotency(service: string, key: string, handler: string, ik: string): Promise<void> {
    this.#send(this.#conn`
      DELETE FROM idempotency WHERE service = ${service} AND key = ${key} AND handler = ${handler} AND idempotency_key = ${ik}`);
  }

  async getDedup(partition: number, producer: string): Promise<number | undefined> {
    const [row] = await this.#wait(
      this.#conn<{ seq: number }[]>`SELECT seq FROM dedup WHERE partition = ${partition} AND producer = ${producer}`,
    );
    return row?.seq;
  }
  async putDedup(partition: number, producer: string, seq: number): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO dedup (partition, producer, seq) VALUES (${partition}, ${producer}, ${seq})
      ON CONFLICT (partition, producer) DO UPDATE SET seq = excluded.seq`);
  }

  async getSchedule(partition: number, id: string): Promise<ScheduleRecord | undefined> {
    const [row] = await this.#wait(this.#conn<{ data: Uint8Array }[]>`SELECT data FROM schedule WHERE partition = ${partition} AND id = ${id}`);
    return row ? decodeScheduleRecord(row.data) : undefined;
  }
  async putSchedule(partition: number, record: ScheduleRecord): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO schedule (partition, id, data) VALUES (${partition}, ${record.spec.id}, ${encodeScheduleRecord(record)})
      ON CONFLICT (partition, id) DO UPDATE SET data = excluded.data`);
  }
  async deleteSchedule(partition: number, id: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM schedule WHERE partition = ${partition} AND id = ${id}`);
  }

  async getFlowRule(partition: number, id: string): Promise<FlowRule | undefined> {
    const [row] = await this.#wait(this.#conn<{ data: Uint8Array }[]>`SELECT data FROM flow_rule WHERE partition = ${partition} AND id = ${id}`);
    return row ? decodeFlowRule(row.data) : undefined;
  }
  async putFlowRule(partition: number, rule: FlowRule): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO flow_rule (partition, id, data) VALUES (${partition}, ${rule.id}, ${encodeFlowRule(rule)})
      ON CONFLICT (partition, id) DO UPDATE SET data = excluded.data`);
  }
  async deleteFlowRule(partition: number, id: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM flow_rule WHERE partition = ${partition} AND id = ${id}`);
  }
  async getFlowLimiter(partition: number, rule: string, limitKey: string): Promise<FlowLimiter | undefined> {
    const [row] = await this.#wait(
      this.#conn<{ data: Uint8Array }[]>`SELECT data FROM flow_limiter WHERE partition = ${partition} AND rule = ${rule} AND limit_key = ${limitKey}`,
    );
    return row ? decodeFlowLimiter(row.data) : undefined;
  }
  async putFlowLimiter(partition: number, limiter: FlowLimiter): Promise<void> {
    this.#send(this.#conn`
      INSERT INTO flow_limiter (partition, rule, limit_key, data) VALUES (${partition}, ${limiter.rule}, ${limiter.limitKey}, ${encodeFlowLimiter(limiter)})
      ON CONFLICT (partition, rule, limit_key) DO UPDATE SET data = excluded.data`);
  }
  async deleteFlowLimiter(partition: number, rule: string, limitKey: string): Promise<void> {
    this.#send(this.#conn`DELETE FROM flow_limiter WHERE partition = ${partition} AND rule = ${rule} AND limit_key = ${limitKey}`);
  }
  async listFlowLimiters(partition: number, rule: string): Promise<FlowLimiter[]> {
    const rows = await this.#wait(
      this.#conn<{ data: Uint8Array }[]>`SELECT data FROM flow_limiter WHERE partition = ${partition} AND rule = ${rule} ORDER BY limit_key`,
    );
    return rows.map((r) => decodeFlowLimiter(r.data));
  }

  async lockEpoch(partition: number): Promise<number | undefined> {
    const [row] = await this.#wait(
      this.#conn<{ epoch: number }[]>`SELECT epoch FROM partitions WHERE partition = ${partition} FOR SHARE`,
    );
    return row?.epoch;
  }
}
