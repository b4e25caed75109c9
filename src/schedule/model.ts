/**
 * The data of a schedule: its spec (what the operator or the service code declared) and its
 * record (the spec plus what the partition knows: next tick, running invocations, counters).
 * Plain data, so it can be written to the log and the store as is.
 */

/** Handler metadata key that declares a schedule in service code. */
export const SCHEDULE_METADATA_KEY = 'endure.schedule';

/** A tick fired at most this late is on time; later ones are subject to the catch-up policy. */
export const MISFIRE_GRACE_MS = 5_000;
/** Upper bound of a catch-up `limit`. */
export const MAX_CATCH_UP_LIMIT = 1_000;
/** Upper bound of the ticks one backfill runs. */
export const MAX_BACKFILL_TICKS = 1_000;

/** What to do with a tick while earlier ticks' invocations still run. */
export type OverlapPolicy = 'skip' | 'buffer-one' | 'allow-all';
/** Which ticks missed while the server was down (or late) still run. */
export type CatchUpPolicy = 'none' | 'last' | 'all';

/** When ticks happen: a cron expression in a time zone, or a fixed interval from an anchor. */
export type ScheduleCadence =
  | { readonly kind: 'cron'; readonly expression: string; readonly timezone: string }
  | { readonly kind: 'every'; readonly everyMs: number; readonly anchorMs: number };

/**
 * What a tick invokes. `key` is the object key, or the workflow id template (placeholders
 * `{schedule}`, `{tick}` as ISO-8601, `{tick_ms}`); absent for plain services.
 */
export interface ScheduleTarget {
  readonly service: string;
  readonly handler: string;
  readonly key: string | undefined;
}

/** A schedule as declared. */
export interface ScheduleSpec {
  readonly id: string;
  readonly target: ScheduleTarget;
  readonly cadence: ScheduleCadence;
  readonly overlap: OverlapPolicy;
  readonly catchUp: CatchUpPolicy;
  /** For catch-up `all`: how many missed ticks run at most. */
  readonly catchUpLimit: number;
  /** Request body of every tick's invocation (JSON bytes), empty for none. */
  readonly input: Uint8Array;
  /** Declared in service code (handler metadata) rather than through the admin API. */
  readonly declared: boolean;
}

/** A schedule as its partition keeps it. */
export interface ScheduleRecord {
  spec: ScheduleSpec;
  paused: boolean;
  /** The tick the timer waits for; undefined while paused. */
  nextTick: number | undefined;
  /** Invocations of earlier ticks that have not completed. */
  running: string[];
  /** A tick kept by overlap `buffer-one`, to start when nothing runs. */
  buffered: number | undefined;
  /** The latest tick that started an invocation. */
  lastTick: number | undefined;
  started: number;
  skipped: number;
  missed: number;
  /** Why the latest tick could not start, if it could not. */
  lastError: string | undefined;
  createdAt: number;
  updatedAt: number;
}

/** The idempotency key of a tick's invocation: its identity is (schedule, tick time). */
export function scheduleIdempotencyKey(scheduleId: string, tick: number): string {
  return `endure.schedule:${scheduleId}:${tick}`;
}

/** The key of a schedule's durable timer in its partition. */
export function scheduleTimerKey(scheduleId: string): string {
  return `schedule:${scheduleId}`;
}
