/**
 * Storage of partition state: the interfaces the worker, invoker and timers use, and their
 * backends (SQLite and PostgreSQL). Only this module speaks SQL. It never decides anything: the
 * state machine in worker/ decides, the store remembers.
 */
export type { PartitionStore, PartitionTx, PartitionReader, JournalEntry, FsmRecord, TimerRecord, PromiseRecord } from './partition.ts';
export type { PartitionLease, LeaseStore } from './leases.ts';
export type { StoreBackend, StoreCapabilities, StoreLocation, Dialect } from './backend.ts';
export { openStore } from './open.ts';
export { openSqlite, type SqliteDb } from './sqlite/db.ts';
export { SqlitePartitionStore } from './sqlite/partition-store.ts';
export { PostgresPartitionStore } from './postgres/partition-store.ts';
export { PostgresMetadataStore } from './postgres/metadata.ts';
export { openPostgres, type PgSql, type PgLocation } from './postgres/db.ts';
