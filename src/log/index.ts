/**
 * The partition logs: every change to a partition is a command appended here first (rule 1).
 *
 * This module owns the record format (proto/endure/records.proto behind a format byte, for log
 * entries and for the store's records alike) and the log's read side. On a single node the appender
 * and the partition's leader share one process, so a batch of commands is appended and applied
 * in one store transaction (DESIGN.md §4): the log row, the state change and the applied LSN
 * commit together, with one fsync for the whole batch. The store backends implement
 * `PartitionLog` on the same database.
 */
export { encodeCommand, decodeCommand, type LogEntry } from './codec.ts';
export { decodeScheduleRecord, encodeScheduleRecord } from './schedule.ts';
export { decodeFlowLimiter, decodeFlowRule, encodeFlowLimiter, encodeFlowRule } from './flow.ts';
export { RecordFormat, RecordFormatError, RecordFormatErrorCode, readRecord, writeRecord } from './format.ts';
/** Field writers and readers of the record format, for the store's records. */
export * as wire from './wire.ts';

/** One record of a partition's log. */
export interface LogRecord {
  readonly lsn: number;
  readonly payload: Uint8Array;
}

/** The log as recovery and trimming see it. */
export interface PartitionLog {
  /** Records of `partition` after `afterLsn`, in LSN order: the unapplied tail after a crash. */
  readLog(partition: number, afterLsn: number): Promise<LogRecord[]>;
  /** Deletes records up to and including `upToLsn` (they must be applied already). */
  trimLog(partition: number, upToLsn: number): Promise<void>;
}
