import { decodeFlowLimiter, decodeFlowRule, decodeScheduleRecord, encodeFlowLimiter, encodeFlowRule, encodeScheduleRecord } from '../../log/index.ts';
import type { FlowLimiter, FlowRule } from '../../flow/model.ts';
import type { ScheduleRecord } from '../../schedule/model.ts';
import type { InvocationStatus } from '../../types/index.ts';
import type { ClusterNode, PartitionLease } from '../leases.ts';
import type { FsmRecord, JournalEntry, PartitionStore, PartitionTx, TimerRecord } from '../partition.ts';
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
import { StoreRefusal, StoreUnavailableError } from '../errors.ts';
import type { SqliteDb } from './db.ts';
import type { Statement } from 'better-sqlite3';
import { refusal } from './refusal.ts';
import { WalSync } from './wal-sync.ts';
import { StatusCache } from '../status-cache.ts';

/**
 * Decoded invocation status records kept in memory (see StatusCache). A running invocation's
 * status is read by every command it sends; 8,192 covers the invocations in flight at thousands
 * of calls per second, for a few MiB.
 */
const STATUS_CACHE_ENTRIES = 8192;

/**
 * The partition store on SQLite. better-sqlite3 is synchronous; the interface is not. One
 * connection serves everything, so transactions and reads are queued one after another: a read
 * never observes a transaction that has not committed, nor one that is not yet durable (reads
 * wait for the WAL flush of every earlier commit).
 */
export class SqlitePartitionStore implements PartitionStore {
  readonly #db: SqliteDb;
  readonly #s: ReturnType<typeof prepare>;
  readonly #tx: PartitionTx;
  readonly #wal: WalSync;
  readonly #statuses = new StatusCache(STATUS_CACHE_ENTRIES);
  #queue: Promise<unknown> = Promise.resolve();
  #savepoints = 0;
  /** Prepared SAVEPOINT / RELEASE / ROLLBACK TO statements by nesting depth: one per command otherwise parses SQL each time. */
  readonly #savepointStatements: { open: Statement; release: Statement; rollback: Statement }[] = [];

  constructor(db: SqliteDb) {
    this.#db = db;
    this.#s = prepare(db);
    this.#tx = makeTx(this.#s, this.#statuses);
    this.#wal = new WalSync(db);
  }

  /**
   * Runs `fn` on the connection when no transaction or read of this store is in progress, and
   * resolves once what it wrote is durable.
   */
  async exclusive<T>(fn: () => T): Promise<T> {
    const value = await this.#exclusive(async () => fn());
    await this.#wal.sync();
    return value;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async transaction<T>(fn: (tx: PartitionTx) => Promise<T>): Promise<T> {
    const { value, durable } = await this.commit(fn);
    await durable;
    return value;
  }

  async commit<T>(fn: (tx: PartitionTx) => Promise<T>): Promise<{ value: T; durable: Promise<void> }> {
    const value = await this.#exclusive(async () => {
      this.#s.begin.run();
      try {
        const result = await fn(this.#tx);
        this.#s.commit.run();
        this.#statuses.committed();
        return result;
      } catch (err) {
        this.#statuses.rollbackTo(0);
        if (this.#db.inTransaction) this.#s.rollback.run();
        throw refusal(err) ?? err;
      }
    });
    return { value, durable: this.#wal.sync() };
  }

  async savepoint<T>(_tx: PartitionTx, fn: () => Promise<T>): Promise<T> {
    const sp = this.#savepointAt(this.#savepoints++);
    sp.open.run();
    const mark = this.#statuses.mark();
    try {
      const result = await fn();
      sp.release.run();
      return result;
    } catch (err) {
      // A refused write fails the whole transaction, not just this savepoint: after SQLITE_FULL
      // or an I/O error SQLite may have rolled the transaction back already, and what followed
      // would run outside any transaction.
      const refused = refusal(err);
      if (refused) throw refused;
      if (!this.#db.inTransaction) {
        throw new StoreUnavailableError(StoreRefusal.Failing, 'SQLite rolled the transaction back', { cause: err });
      }
      sp.rollback.run();
      this.#statuses.rollbackTo(mark);
      sp.release.run();
      throw err;
    } finally {
      this.#savepoints--;
    }
  }

  #savepointAt(depth: number): { open: Statement; release: Statement; rollback: Statement } {
    let sp = this.#savepointStatements[depth];
    if (!sp) {
      const name = `sp${depth}`;
      sp = {
        open: this.#db.prepare(`SAVEPOINT ${name}`),
        release: this.#db.prepare(`RELEASE ${name}`),
        rollback: this.#db.prepare(`ROLLBACK TO ${name}`),
      };
      this.#savepointStatements[depth] = sp;
    }
    return sp;
  }

  #read<T>(fn: () => T): Promise<T> {
    const settled = this.#wal.settled();
    return this.#exclusive(async () => {
      await settled;
      return fn();
    });
  }

  getInvocation(id: string): Promise<InvocationStatus | undefined> {
    return this.#read(() => readInvocation(this.#s, this.#statuses, id));
  }
  readJournal(id: string): Promise<JournalEntry[]> {
    return this.#read(() => readJournal(this.#s, id));
  }
  loadInvocation(id: string, withState: (status: InvocationStatus) => boolean, maxStateBytes = Infinity) {
    return this.#read(() => {
      const status = readInvocation(this.#s, this.#statuses, id);
      if (!status) return undefined;
      const journal = readJournal(this.#s, id);
      const t = status.target;
      const state = withState(status) ? readStateUpTo(this.#s, t.service, t.key ?? '', maxStateBytes) : undefined;
      return { status, journal, state };
    });
  }
  getAllState(service: string, key: string): Promise<[Uint8Array, Uint8Array][]> {
    return this.#read(() => readAllState(this.#s, service, key));
  }
  listInvocationsInPhase(partition: number, phase: InvocationStatus['phase']): Promise<string[]> {
    return this.#read(() => (this.#s.invocationsInPhase.all(partition, phase) as { id: string }[]).map((r) => r.id));
  }
  listTimers(partition: number, window?: { after: number; upTo: number }): Promise<TimerRecord[]> {
    return this.#read(() =>
      (window
        ? (this.#s.timersBetween.all(partition, window.after, window.upTo) as TimerRow[])
        : (this.#s.timersOf.all(partition) as TimerRow[])
      ).map((r) => toTimer(r)),
    );
  }
  listOutbox(partition: number): Promise<{ seq: number; payload: Uint8Array }[]> {
    return this.#read(() => this.#s.outboxOf.all(partition) as { seq: number; payload: Uint8Array }[]);
  }
  getFsm(partition: number): Promise<FsmRecord> {
    return this.#read(() => readFsm(this.#s, partition));
  }
  getSchedule(partition: number, id: string): Promise<ScheduleRecord | undefined> {
    return this.#read(() => readSchedule(this.#s, partition, id));
  }
  listSchedules(partition: number): Promise<ScheduleRecord[]> {
    return this.#read(() => (this.#s.schedulesOf.all(partition) as { data: Uint8Array }[]).map((r) => decodeScheduleRecord(r.data)));
  }
  listFlowRules(partition: number): Promise<FlowRule[]> {
    return this.#read(() => (this.#s.flowRulesOf.all(partition) as { data: Uint8Array }[]).map((r) => decodeFlowRule(r.data)));
  }
  getFlowRule(partition: number, id: string): Promise<FlowRule | undefined> {
    return this.#read(() => readFlowRule(this.#s, partition, id));
  }
  listFlowLimiters(partition: number, rule: string): Promise<FlowLimiter[]> {
    return this.#read(() => readFlowLimiters(this.#s, partition, rule));
  }
  readLog(partition: number, afterLsn: number): Promise<{ lsn: number; payload: Uint8Array }[]> {
    return this.#read(() => this.#s.logAfter.all(partition, afterLsn) as { lsn: number; payload: Uint8Array }[]);
  }
  trimLog(partition: number, upToLsn: number): Promise<void> {
    return this.#read(() => {
      this.#s.trimLog.run(partition, upToLsn);
    });
  }
  // Leases take their turn on the connection like transactions do, and are durable on return.

  acquireLease(partition: number, leader: string, now: number, ttlMs: number): Promise<PartitionLease | undefined> {
    return this.exclusive(() => {
      const row = this.#s.acquireLease.get({ partition, leader, now, expiresAt: now + ttlMs }) as LeaseRow | undefined;
      return row ? toLease(row) : undefined;
    });
  }
  renewLease(partition: number, leader: string, epoch: number, now: number, ttlMs: number): Promise<boolean> {
    return this.exclusive(() => this.#s.renewLease.run(now + ttlMs, partition, leader, epoch).changes === 1);
  }
  async releaseLease(partition: number, leader: string, epoch: number): Promise<void> {
    await this.exclusive(() => this.#s.releaseLease.run(partition, leader, epoch));
  }
  listLeases(): Promise<PartitionLease[]> {
    return this.#read(() => (this.#s.leases.all() as LeaseRow[]).map(toLease));
  }
  async heartbeat(name: string, address: string, secret: string, now: number, ttlMs: number): Promise<void> {
    await this.exclusive(() => this.#s.heartbeat.run(name, address, secret, now, now + ttlMs));
  }
  async leaveCluster(name: string): Promise<void> {
    await this.exclusive(() => this.#s.leaveCluster.run(name));
  }
  listNodes(now: number): Promise<ClusterNode[]> {
    return this.#read(() =>
      (this.#s.liveNodes.all(now) as { name: string; address: string; secret: string; expires_at: number }[]).map((r) => ({
        name: r.name,
        address: r.address,
        secret: r.secret,
        expiresAt: r.expires_at,
      })),
    );
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#wal.settled();
    this.#wal.close();
  }
}

/** Type code of signal notifications: their id lives in completion_id / signal_name. */
const SIGNAL_TYPE = 0xfbff;

interface TimerRow {
  partition: number;
  timer_key: string;
  fire_at: number;
  payload: Uint8Array;
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

function toTimer(r: TimerRow): TimerRecord {
  return { partition: r.partition, key: r.timer_key, fireAt: r.fire_at, payload: decodeTimerPayload(r.payload) };
}

function prepare(db: SqliteDb) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    getFsm: db.prepare('SELECT applied_lsn, epoch, outbox_seq, inbox_seq FROM fsm WHERE partition = ?'),
    putFsm: db.prepare(
      `INSERT INTO fsm (partition, applied_lsn, epoch, outbox_seq, inbox_seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (partition) DO UPDATE SET applied_lsn = excluded.applied_lsn, epoch = excluded.epoch,
         outbox_seq = excluded.outbox_seq, inbox_seq = excluded.inbox_seq`,
    ),
    appendLog: db.prepare('INSERT INTO log (partition, lsn, payload) VALUES (?, ?, ?)'),
    logAfter: db.prepare('SELECT lsn, payload FROM log WHERE partition = ? AND lsn > ? ORDER BY lsn'),
    trimLog: db.prepare('DELETE FROM log WHERE partition = ? AND lsn <= ?'),
    getInvocation: db.prepare('SELECT data FROM invocation WHERE id = ?'),
    putInvocation: db.prepare(
      `INSERT INTO invocation (id, partition, status, service, handler, key, idempotency_key, created_at, modified_at, completed_at, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, modified_at = excluded.modified_at,
         completed_at = excluded.completed_at, data = excluded.data`,
    ),
    deleteInvocation: db.prepare('DELETE FROM invocation WHERE id = ?'),
    invocationsInPhase: db.prepare('SELECT id FROM invocation WHERE partition = ? AND status = ?'),
    appendJournal: db.prepare(
      'INSERT INTO journal (invocation_id, idx, type, completion_id, signal_name, body) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    readJournal: db.prepare(
      'SELECT idx, type, completion_id, signal_name, body FROM journal WHERE invocation_id = ? ORDER BY idx',
    ),
    hasCompletion: db.prepare(
      `SELECT 1 FROM journal WHERE invocation_id = ? AND completion_id = ? AND type >= ${0x8000} AND type < ${SIGNAL_TYPE} LIMIT 1`,
    ),
    hasSignalIdx: db.prepare(`SELECT 1 FROM journal WHERE invocation_id = ? AND type = ${SIGNAL_TYPE} AND completion_id = ? LIMIT 1`),
    hasSignalName: db.prepare(`SELECT 1 FROM journal WHERE invocation_id = ? AND type = ${SIGNAL_TYPE} AND signal_name = ? LIMIT 1`),
    deleteJournal: db.prepare('DELETE FROM journal WHERE invocation_id = ? AND idx >= ?'),
    getPromise: db.prepare('SELECT result, waiters FROM promise WHERE service = ? AND key = ? AND name = ?'),
    putPromise: db.prepare(
      'INSERT INTO promise (service, key, name, result, waiters) VALUES (?, ?, ?, ?, ?) ON CONFLICT (service, key, name) DO UPDATE SET result = excluded.result, waiters = excluded.waiters',
    ),
    deleteAllPromises: db.prepare('DELETE FROM promise WHERE service = ? AND key = ?'),
    getState: db.prepare('SELECT value FROM state WHERE service = ? AND key = ? AND name = ?'),
    getAllState: db.prepare('SELECT name, value FROM state WHERE service = ? AND key = ? ORDER BY name'),
    setState: db.prepare(
      'INSERT INTO state (service, key, name, value) VALUES (?, ?, ?, ?) ON CONFLICT (service, key, name) DO UPDATE SET value = excluded.value',
    ),
    clearState: db.prepare('DELETE FROM state WHERE service = ? AND key = ? AND name = ?'),
    clearAllState: db.prepare('DELETE FROM state WHERE service = ? AND key = ?'),
    getLock: db.prepare('SELECT invocation_id FROM object_lock WHERE service = ? AND key = ?'),
    setLock: db.prepare(
      'INSERT INTO object_lock (service, key, invocation_id) VALUES (?, ?, ?) ON CONFLICT (service, key) DO UPDATE SET invocation_id = excluded.invocation_id',
    ),
    deleteLock: db.prepare('DELETE FROM object_lock WHERE service = ? AND key = ?'),
    pushInbox: db.prepare('INSERT INTO inbox (partition, service, key, seq, invocation_id) VALUES (?, ?, ?, ?, ?)'),
    peekInbox: db.prepare('SELECT seq, invocation_id FROM inbox WHERE service = ? AND key = ? ORDER BY seq LIMIT 1'),
    deleteInbox: db.prepare('DELETE FROM inbox WHERE service = ? AND key = ? AND seq = ?'),
    putOutbox: db.prepare('INSERT INTO outbox (partition, seq, payload) VALUES (?, ?, ?)'),
    deleteOutboxUpTo: db.prepare('DELETE FROM outbox WHERE partition = ? AND seq <= ?'),
    anyOutbox: db.prepare('SELECT 1 FROM outbox WHERE partition = ? LIMIT 1'),
    outboxOf: db.prepare('SELECT seq, payload FROM outbox WHERE partition = ? ORDER BY seq'),
    putTimer: db.prepare(
      `INSERT INTO timer (partition, fire_at, timer_key, payload) VALUES (?, ?, ?, ?)
       ON CONFLICT (partition, timer_key) DO UPDATE SET fire_at = excluded.fire_at, payload = excluded.payload`,
    ),
    getTimer: db.prepare('SELECT partition, timer_key, fire_at, payload FROM timer WHERE partition = ? AND timer_key = ?'),
    deleteTimer: db.prepare('DELETE FROM timer WHERE partition = ? AND timer_key = ?'),
    timersOf: db.prepare('SELECT partition, timer_key, fire_at, payload FROM timer WHERE partition = ? ORDER BY fire_at'),
    timersBetween: db.prepare(
      'SELECT partition, timer_key, fire_at, payload FROM timer WHERE partition = ? AND fire_at > ? AND fire_at <= ? ORDER BY fire_at',
    ),
    getIdempotency: db.prepare(
      'SELECT invocation_id FROM idempotency WHERE service = ? AND key = ? AND handler = ? AND idempotency_key = ?',
    ),
    putIdempotency: db.prepare(
      'INSERT OR REPLACE INTO idempotency (service, key, handler, idempotency_key, invocation_id) VALUES (?, ?, ?, ?, ?)',
    ),
    deleteIdempotency: db.prepare(
      'DELETE FROM idempotency WHERE service = ? AND key = ? AND handler = ? AND idempotency_key = ?',
    ),
    getDedup: db.prepare('SELECT seq FROM dedup WHERE partition = ? AND producer = ?'),
    getSchedule: db.prepare('SELECT data FROM schedule WHERE partition = ? AND id = ?'),
    putSchedule: db.prepare(
      'INSERT INTO schedule (partition, id, data) VALUES (?, ?, ?) ON CONFLICT (partition, id) DO UPDATE SET data = excluded.data',
    ),
    deleteSchedule: db.prepare('DELETE FROM schedule WHERE partition = ? AND id = ?'),
    schedulesOf: db.prepare('SELECT data FROM schedule WHERE partition = ? ORDER BY id'),
    getFlowRule: db.prepare('SELECT data FROM flow_rule WHERE partition = ? AND id = ?'),
    putFlowRule: db.prepare(
      'INSERT INTO flow_rule (partition, id, data) VALUES (?, ?, ?) ON CONFLICT (partition, id) DO UPDATE SET data = excluded.data',
    ),
    deleteFlowRule: db.prepare('DELETE FROM flow_rule WHERE partition = ? AND id = ?'),
    flowRulesOf: db.prepare('SELECT data FROM flow_rule WHERE partition = ? ORDER BY id'),
    getFlowLimiter: db.prepare('SELECT data FROM flow_limiter WHERE partition = ? AND rule = ? AND limit_key = ?'),
    putFlowLimiter: db.prepare(
      'INSERT INTO flow_limiter (partition, rule, limit_key, data) VALUES (?, ?, ?, ?) ON CONFLICT (partition, rule, limit_key) DO UPDATE SET data = excluded.data',
    ),
    deleteFlowLimiter: db.prepare('DELETE FROM flow_limiter WHERE partition = ? AND rule = ? AND limit_key = ?'),
    flowLimitersOf: db.prepare('SELECT data FROM flow_limiter WHERE partition = ? AND rule = ? ORDER BY limit_key'),
    putDedup: db.prepare(
      'INSERT INTO dedup (partition, producer, seq) VALUES (?, ?, ?) ON CONFLICT (partition, producer) DO UPDATE SET seq = excluded.seq',
    ),
    acquireLease: db.prepare(
      `INSERT INTO partitions (partition, leader, epoch, lease_expires_at) VALUES (:partition, :leader, 1, :expiresAt)
       ON CONFLICT (partition) DO UPDATE SET leader = excluded.leader, epoch = partitions.epoch + 1,
         lease_expires_at = excluded.lease_expires_at
         WHERE partitions.lease_expires_at <= :now OR partitions.leader = excluded.leader
       RETURNING partition, leader, epoch, lease_expires_at`,
    ),
    renewLease: db.prepare('UPDATE partitions SET lease_expires_at = ? WHERE partition = ? AND leader = ? AND epoch = ?'),
    releaseLease: db.prepare('UPDATE partitions SET lease_expires_at = 0 WHERE partition = ? AND leader = ? AND epoch = ?'),
    leases: db.prepare('SELECT partition, leader, epoch, lease_expires_at FROM partitions ORDER BY partition'),
    epochOf: db.prepare('SELECT epoch FROM partitions WHERE partition = ?'),
    heartbeat: db.prepare(
      `INSERT INTO nodes (name, address, secret, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET address = excluded.address, secret = excluded.secret,
         heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
    ),
    leaveCluster: db.prepare('DELETE FROM nodes WHERE name = ?'),
    liveNodes: db.prepare('SELECT name, address, secret, expires_at FROM nodes WHERE expires_at > ? ORDER BY name'),
  };
}

type Statements = ReturnType<typeof prepare>;

function readFsm(s: Statements, partition: number): FsmRecord {
  const row = s.getFsm.get(partition) as
    | { applied_lsn: number; epoch: number; outbox_seq: number; inbox_seq: number }
    | undefined;
  return row
    ? { appliedLsn: row.applied_lsn, epoch: row.epoch, outboxSeq: row.outbox_seq, inboxSeq: row.inbox_seq }
    : { appliedLsn: 0, epoch: 0, outboxSeq: 0, inboxSeq: 0 };
}

function readInvocation(s: Statements, cache: StatusCache, id: string): InvocationStatus | undefined {
  const cached = cache.get(id);
  if (cached) return cached;
  const row = s.getInvocation.get(id) as { data: Uint8Array } | undefined;
  if (!row) return undefined;
  const status = decodeStatus(row.data);
  cache.fill(status);
  return status;
}

function readJournal(s: Statements, id: string): JournalEntry[] {
  return (
    s.readJournal.all(id) as { idx: number; type: number; completion_id: number | null; signal_name: string | null; body: Uint8Array }[]
  ).map((r) => ({
    index: r.idx,
    type: r.type,
    completionId: r.completion_id ?? undefined,
    signalName: r.signal_name ?? undefined,
    body: r.body,
  }));
}

/** The key's state, or undefined as soon as its names and values pass `maxBytes`. */
function readStateUpTo(s: Statements, service: string, key: string, maxBytes: number): [Uint8Array, Uint8Array][] | undefined {
  const entries: [Uint8Array, Uint8Array][] = [];
  let size = 0;
  // Iterating (rather than .all()) stops reading rows once the limit is passed.
  for (const r of s.getAllState.iterate(service, key) as IterableIterator<{ name: Uint8Array; value: Uint8Array }>) {
    size += r.name.length + r.value.length;
    if (size > maxBytes) return undefined;
    entries.push([r.name, r.value]);
  }
  return entries;
}

function readAllState(s: Statements, service: string, key: string): [Uint8Array, Uint8Array][] {
  return (s.getAllState.all(service, key) as { name: Uint8Array; value: Uint8Array }[]).map((r) => [r.name, r.value]);
}

function makeTx(s: Statements, statuses: StatusCache): PartitionTx {
  return {
    async getFsm(partition) {
      return readFsm(s, partition);
    },
    async putFsm(partition, f) {
      s.putFsm.run(partition, f.appliedLsn, f.epoch, f.outboxSeq, f.inboxSeq);
    },
    async appendLog(partition, lsn, payload) {
      s.appendLog.run(partition, lsn, payload);
    },
    async getInvocation(id) {
      return readInvocation(s, statuses, id);
    },
    async putInvocation(st) {
      s.putInvocation.run(
        st.id,
        st.partition,
        st.phase,
        st.target.service,
        st.target.handler,
        st.target.key ?? null,
        st.idempotencyKey ?? null,
        st.createdAt,
        st.modifiedAt,
        st.completedAt ?? null,
        encodeStatus(st),
      );
      statuses.write(st);
    },
    async deleteInvocation(id) {
      s.deleteInvocation.run(id);
      statuses.delete(id);
    },
    async appendJournal(id, e) {
      s.appendJournal.run(id, e.index, e.type, e.completionId ?? null, e.signalName ?? null, e.body);
    },
    async readJournal(id) {
      return readJournal(s, id);
    },
    async hasCompletion(id, completionId) {
      return s.hasCompletion.get(id, completionId) !== undefined;
    },
    async hasSignal(id, signal) {
      const row = typeof signal === 'number' ? s.hasSignalIdx.get(id, signal) : s.hasSignalName.get(id, signal);
      return row !== undefined;
    },
    async deleteJournal(id, fromIndex = 0) {
      s.deleteJournal.run(id, fromIndex);
    },
    async getPromise(service, key, name) {
      const row = s.getPromise.get(service, key, name) as { result: Uint8Array | null; waiters: Uint8Array } | undefined;
      if (!row) return undefined;
      return {
        result: row.result ? decodeResult(row.result) : undefined,
        waiters: decodeWaiters(row.waiters),
      };
    },
    async putPromise(service, key, name, p) {
      s.putPromise.run(service, key, name, p.result ? encodeResult(p.result) : null, encodeWaiters(p.waiters));
    },
    async deleteAllPromises(service, key) {
      s.deleteAllPromises.run(service, key);
    },
    async getState(service, key, name) {
      const row = s.getState.get(service, key, name) as { value: Uint8Array } | undefined;
      return row?.value;
    },
    async getAllState(service, key) {
      return readAllState(s, service, key);
    },
    async setState(service, key, name, value) {
      s.setState.run(service, key, name, value);
    },
    async clearState(service, key, name) {
      s.clearState.run(service, key, name);
    },
    async clearAllState(service, key) {
      s.clearAllState.run(service, key);
    },
    async getLock(service, key) {
      const row = s.getLock.get(service, key) as { invocation_id: string } | undefined;
      return row?.invocation_id;
    },
    async setLock(service, key, id) {
      s.setLock.run(service, key, id);
    },
    async deleteLock(service, key) {
      s.deleteLock.run(service, key);
    },
    async pushInbox(partition, service, key, seq, id) {
      s.pushInbox.run(partition, service, key, seq, id);
    },
    async popInbox(service, key) {
      const row = s.peekInbox.get(service, key) as { seq: number; invocation_id: string } | undefined;
      if (!row) return undefined;
      s.deleteInbox.run(service, key, row.seq);
      return row.invocation_id;
    },
    async putOutbox(partition, seq, payload) {
      s.putOutbox.run(partition, seq, payload);
    },
    async deleteOutboxUpTo(partition, seq) {
      s.deleteOutboxUpTo.run(partition, seq);
    },
    async hasOutbox(partition) {
      return s.anyOutbox.get(partition) !== undefined;
    },
    async putTimer(t) {
      s.putTimer.run(t.partition, t.fireAt, t.key, encodeTimerPayload(t.payload));
    },
    async getTimer(partition, key) {
      const row = s.getTimer.get(partition, key) as TimerRow | undefined;
      return row ? toTimer(row) : undefined;
    },
    async deleteTimer(partition, key) {
      s.deleteTimer.run(partition, key);
    },
    async getIdempotency(service, key, handler, ik) {
      const row = s.getIdempotency.get(service, key, handler, ik) as { invocation_id: string } | undefined;
      return row?.invocation_id;
    },
    async putIdempotency(service, key, handler, ik, id) {
      s.putIdempotency.run(service, key, handler, ik, id);
    },
    async deleteIdempotency(service, key, handler, ik) {
      s.deleteIdempotency.run(service, key, handler, ik);
    },
    async getDedup(partition, producer) {
      const row = s.getDedup.get(partition, producer) as { seq: number } | undefined;
      return row?.seq;
    },
    async putDedup(partition, producer, seq) {
      s.putDedup.run(partition, producer, seq);
    },
    async lockEpoch(partition) {
      // BEGIN IMMEDIATE already holds the database's write lock: no takeover can commit meanwhile.
      const row = s.epochOf.get(partition) as { epoch: number } | undefined;
      return row?.epoch;
    },
    async getSchedule(partition, id) {
      return readSchedule(s, partition, id);
    },
    async putSchedule(partition, record) {
      s.putSchedule.run(partition, record.spec.id, encodeScheduleRecord(record));
    },
    async deleteSchedule(partition, id) {
      s.deleteSchedule.run(partition, id);
    },
    async getFlowRule(partition, id) {
      return readFlowRule(s, partition, id);
    },
    async putFlowRule(partition, rule) {
      s.putFlowRule.run(partition, rule.id, encodeFlowRule(rule));
    },
    async deleteFlowRule(partition, id) {
      s.deleteFlowRule.run(partition, id);
    },
    async getFlowLimiter(partition, rule, limitKey) {
      const row = s.getFlowLimiter.get(partition, rule, limitKey) as { data: Uint8Array } | undefined;
      return row ? decodeFlowLimiter(row.data) : undefined;
    },
    async putFlowLimiter(partition, limiter) {
      s.putFlowLimiter.run(partition, limiter.rule, limiter.limitKey, encodeFlowLimiter(limiter));
    },
    async deleteFlowLimiter(partition, rule, limitKey) {
      s.deleteFlowLimiter.run(partition, rule, limitKey);
    },
    async listFlowLimiters(partition, rule) {
      return readFlowLimiters(s, partition, rule);
    },
  };
}

function readFlowRule(s: ReturnType<typeof prepare>, partition: number, id: string): FlowRule | undefined {
  const row = s.getFlowRule.get(partition, id) as { data: Uint8Array } | undefined;
  return row ? decodeFlowRule(row.data) : undefined;
}

function readFlowLimiters(s: ReturnType<typeof prepare>, partition: number, rule: string): FlowLimiter[] {
  return (s.flowLimitersOf.all(partition, rule) as { data: Uint8Array }[]).map((r) => decodeFlowLimiter(r.data));
}

function readSchedule(s: ReturnType<typeof prepare>, partition: number, id: string): ScheduleRecord | undefined {
  const row = s.getSchedule.get(partition, id) as { data: Uint8Array } | undefined;
  return row ? decodeScheduleRecord(row.data) : undefined;
}
