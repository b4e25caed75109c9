/**
 * What the partition state machine reads and writes. Every method is async so that a backend
 * whose driver is asynchronous (PostgreSQL) implements the same interface; the SQLite backend
 * answers from a synchronous driver inside one serialized transaction.
 */
import type { PartitionLog } from '../log/index.ts';
import type { FlowLimiter, FlowRule } from '../flow/model.ts';
import type { LeaseStore } from './leases.ts';
import type { ScheduleRecord } from '../schedule/model.ts';
import type { InvocationResult, InvocationStatus, TimerPayload } from '../types/index.ts';

/** One journal entry: a command or a notification, as its protobuf body. */
export interface JournalEntry {
  readonly index: number;
  readonly type: number;
  /** For completions: the completion id; for signal notifications: the signal index (if unnamed). */
  readonly completionId: number | undefined;
  /** For named signal notifications: the name. */
  readonly signalName?: string | undefined;
  readonly body: Uint8Array;
}

/** A workflow's durable promise. */
export interface PromiseRecord {
  readonly result: InvocationResult | undefined;
  readonly waiters: readonly { readonly id: string; readonly completionId: number }[];
}

/** Per-partition bookkeeping kept in the same transaction as every apply. */
export interface FsmRecord {
  appliedLsn: number;
  epoch: number;
  outboxSeq: number;
  inboxSeq: number;
}

/** A timer row. */
export interface TimerRecord {
  readonly partition: number;
  readonly key: string;
  readonly fireAt: number;
  readonly payload: TimerPayload;
}

/** Reads and writes of one partition-store transaction. */
export interface PartitionTx {
  getFsm(partition: number): Promise<FsmRecord>;
  putFsm(partition: number, fsm: FsmRecord): Promise<void>;
  appendLog(partition: number, lsn: number, payload: Uint8Array): Promise<void>;

  getInvocation(id: string): Promise<InvocationStatus | undefined>;
  putInvocation(status: InvocationStatus): Promise<void>;
  deleteInvocation(id: string): Promise<void>;

  appendJournal(id: string, entry: JournalEntry): Promise<void>;
  readJournal(id: string): Promise<JournalEntry[]>;
  /** True when a completion notification (not a signal) with this id is journaled. */
  hasCompletion(id: string, completionId: number): Promise<boolean>;
  /** True when a signal notification with this index or name is journaled. */
  hasSignal(id: string, signal: number | string): Promise<boolean>;
  /** Deletes the journal entries from `fromIndex` on. */
  deleteJournal(id: string, fromIndex?: number): Promise<void>;

  getPromise(service: string, key: string, name: string): Promise<PromiseRecord | undefined>;
  putPromise(service: string, key: string, name: string, promise: PromiseRecord): Promise<void>;
  deleteAllPromises(service: string, key: string): Promise<void>;

  getState(service: string, key: string, name: Uint8Array): Promise<Uint8Array | undefined>;
  getAllState(service: string, key: string): Promise<[Uint8Array, Uint8Array][]>;
  setState(service: string, key: string, name: Uint8Array, value: Uint8Array): Promise<void>;
  clearState(service: string, key: string, name: Uint8Array): Promise<void>;
  clearAllState(service: string, key: string): Promise<void>;

  getLock(service: string, key: string): Promise<string | undefined>;
  setLock(service: string, key: string, id: string): Promise<void>;
  deleteLock(service: string, key: string): Promise<void>;

  pushInbox(partition: number, service: string, key: string, seq: number, id: string): Promise<void>;
  popInbox(service: string, key: string): Promise<string | undefined>;

  putOutbox(partition: number, seq: number, payload: Uint8Array): Promise<void>;
  deleteOutboxUpTo(partition: number, seq: number): Promise<void>;
  /** True when `partition`'s outbox holds a message not yet truncated (delivered or not). */
  hasOutbox(partition: number): Promise<boolean>;

  putTimer(timer: TimerRecord): Promise<void>;
  getTimer(partition: number, key: string): Promise<TimerRecord | undefined>;
  deleteTimer(partition: number, key: string): Promise<void>;

  getIdempotency(service: string, key: string, handler: string, idempotencyKey: string): Promise<string | undefined>;
  putIdempotency(service: string, key: string, handler: string, idempotencyKey: string, id: string): Promise<void>;
  deleteIdempotency(service: string, key: string, handler: string, idempotencyKey: string): Promise<void>;

  getDedup(partition: number, producer: string): Promise<number | undefined>;
  putDedup(partition: number, producer: string, seq: number): Promise<void>;

  /**
   * The epoch of `partition`'s lease (undefined if it never had one), with the lease row locked
   * until this transaction ends: no takeover commits in between, so a batch that checked its
   * epoch here commits under that epoch or not at all (fencing, rule 4).
   */
  lockEpoch(partition: number): Promise<number | undefined>;

  getSchedule(partition: number, id: string): Promise<ScheduleRecord | undefined>;
  putSchedule(partition: number, record: ScheduleRecord): Promise<void>;
  deleteSchedule(partition: number, id: string): Promise<void>;

  getFlowRule(partition: number, id: string): Promise<FlowRule | undefined>;
  putFlowRule(partition: number, rule: FlowRule): Promise<void>;
  deleteFlowRule(partition: number, id: string): Promise<void>;
  getFlowLimiter(partition: number, rule: string, limitKey: string): Promise<FlowLimiter | undefined>;
  putFlowLimiter(partition: number, limiter: FlowLimiter): Promise<void>;
  deleteFlowLimiter(partition: number, rule: string, limitKey: string): Promise<void>;
  /** The limiters of a rule, by limit key. */
  listFlowLimiters(partition: number, rule: string): Promise<FlowLimiter[]>;
}

/** Reads outside an apply: used by the leader's services (invoker, timers, shuffle) and the ingress. */
export interface PartitionReader {
  getInvocation(id: string): Promise<InvocationStatus | undefined>;
  /**
   * What an attempt needs to start, read at one point in time: the status, the journal, and for
   * keyed invocations the key's state (absent when `withState` says it will not be sent, or when
   * it is larger than `maxStateBytes` of names and values: then no more than about that much is
   * read, so that starting a call on a large object does not read all of its state).
   */
  loadInvocation(
    id: string,
    withState: (status: InvocationStatus) => boolean,
    maxStateBytes?: number,
  ): Promise<{ status: InvocationStatus; journal: JournalEntry[]; state: [Uint8Array, Uint8Array][] | undefined } | undefined>;
  readJournal(id: string): Promise<JournalEntry[]>;
  getAllState(service: string, key: string): Promise<[Uint8Array, Uint8Array][]>;
  listInvocationsInPhase(partition: number, phase: InvocationStatus['phase']): Promise<string[]>;
  /** Timers of a partition by fire time; with a window, only those with after < fireAt <= upTo. */
  listTimers(partition: number, window?: { after: number; upTo: number }): Promise<TimerRecord[]>;
  listOutbox(partition: number): Promise<{ seq: number; payload: Uint8Array }[]>;
  getFsm(partition: number): Promise<FsmRecord>;
  getSchedule(partition: number, id: string): Promise<ScheduleRecord | undefined>;
  /** The schedules of a partition, by id. */
  listSchedules(partition: number): Promise<ScheduleRecord[]>;
  /** The flow rules of a partition, by id. */
  listFlowRules(partition: number): Promise<FlowRule[]>;
  getFlowRule(partition: number, id: string): Promise<FlowRule | undefined>;
  /** The limiters of a rule, by limit key. */
  listFlowLimiters(partition: number, rule: string): Promise<FlowLimiter[]>;
}

/** The partition store: serialized transactions plus reads, and the partitions' leases. */
export interface PartitionStore extends PartitionReader, PartitionLog, LeaseStore {
  /** Runs `fn` in one transaction; commits (durably) when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: PartitionTx) => Promise<T>): Promise<T>;
  /**
   * Like `transaction`, but resolves at commit, with a promise that resolves once the commit is
   * durable: the caller may start the next transaction while the disk flushes this one, and
   * must not let anything that depends on it out before `durable` resolves. Reads of the store
   * never see a commit before it is durable.
   */
  commit<T>(fn: (tx: PartitionTx) => Promise<T>): Promise<{ value: T; durable: Promise<void> }>;
  /** Runs `fn` inside a savepoint of the current transaction: a throw undoes only its writes. */
  savepoint<T>(tx: PartitionTx, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
