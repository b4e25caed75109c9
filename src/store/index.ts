/**
 * Storage of partition state: the interfaces the worker, invoker and timers use, and their
 * backends. Only this module speaks SQL. It never decides anything: the state machine in
 * worker/ decides, the store remembers.
 */
export type { PartitionStore, PartitionTx, PartitionReader, JournalEntry, FsmRecord, TimerRecord, PromiseRecord } from './partition.ts';
export { StoreRefusal, StoreUnavailableError } from './errors.ts';
export { openSqlite, UnusableDatabaseError, type OpenSqliteOptions, type SqliteDb } from './sqlite/db.ts';
export { SqlitePartitionStore } from './sqlite/partition-store.ts';
export { DEFAULT_QUERY_LIMITS, QueryError, QueryErrorKind } from './query.ts';
export type { QueryAttempt, QueryColumn, QueryColumnType, QueryEngine, QueryLimits, QueryResult, QueryValue } from './query.ts';
export { SqliteQueryEngine } from './sqlite/query/engine.ts';
export type { SubscriptionRecord, SubscriptionStore } from './subscriptions.ts';
export { SqliteSubscriptionStore } from './sqlite/subscriptions.ts';
