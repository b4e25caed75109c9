/**
 * Storage of partition state: the interfaces the worker, invoker and timers use, and their
 * backends (SQLite and PostgreSQL). Only this module speaks SQL. It never decides anything: the
 * state machine in worker/ decides, the store remembers.
 */
export type { PartitionStore, PartitionTx, PartitionReader, JournalEntry, FsmRecord, TimerRecord, PromiseRecord } from './partition.ts';
export type { ClusterNode, PartitionLease, LeaseStore } from './leases.ts';
export type { OpenStoreOptions, StoreBackend, StoreCapabilities, StoreLocation, Dialect } from './backend.ts';
export { openStore } from './open.ts';
export { StoreRefusal, StoreUnavailableError } from './errors.ts';
export { openSqlite, UnusableDatabaseError, type OpenSqliteOptions, type SqliteDb } from './sqlite/db.ts';
export { SqlitePartitionStore } from './sqlite/partition-store.ts';
export { PostgresPartitionStore } from './postgres/partition-store.ts';
export { PostgresMetadataStore } from './postgres/metadata.ts';
export { PostgresSubscriptionStore } from './postgres/subscriptions.ts';
export { openPostgres, type PgSql, type PgLocation } from './postgres/db.ts';
export { DEFAULT_QUERY_LIMITS, QueryError, QueryErrorKind } from './query.ts';
export type { QueryAttempt, QueryColumn, QueryColumnType, QueryEngine, QueryLimits, QueryResult, QueryValue } from './query.ts';
export { SqliteQueryEngine } from './sqlite/query/engine.ts';
export type { SubscriptionRecord, SubscriptionStore } from './subscriptions.ts';
export { SqliteSubscriptionStore } from './sqlite/subscriptions.ts';
