/**
 * Schedules: durable cron schedules that invoke a handler at every tick, exactly once per tick.
 *
 * This module owns what a schedule *is* (its spec, its cadence, its policies) and the pure
 * arithmetic of ticks. It never writes the store and never reads the clock: the partition state
 * machine (worker/schedules.ts) changes schedules, and every time it needs arrives inside a
 * command.
 *
 * ## Where a schedule lives
 * A schedule is one record in a partition store: the partition that owns `hash(schedule id)`.
 * It changes only through `schedule` commands appended to that partition's log and applied by
 * its processor (rule 1): `put`, `delete`, `pause`, `resume`, `trigger`, `backfill`, `tick`
 * and `done`. The admin API (`/schedules`), the CLI and deployment registration (handler
 * metadata `endure.schedule`) all end in one of these commands; none touches the store.
 *
 * ## How ticks fire
 * The record holds the next tick time; apply puts a durable timer `schedule:<id>` at that time
 * in the same transaction. The partition's leader fires it like any timer (rule 3), except that
 * it first resolves the schedule's target in the schema registry, so the `tick` command carries
 * the target's current deployment and now (schema facts and time arrive inside the command:
 * apply stays deterministic, rule 2). Applying `tick` deletes the timer, decides which ticks run
 * (catch-up, overlap), sends one invocation per tick through the outbox to the target's
 * partition, computes the next tick after `now` and puts the next timer — all in one commit.
 *
 * ## Exactly once per tick
 * The invocation of a tick has an identity derived from (schedule id, tick time): for services
 * and objects the idempotency key `endure.schedule:<id>:<tick ms>` and the invocation id derived
 * from it; for workflows the workflow id rendered from the schedule's id template, which must
 * contain the tick. Three things make a tick run once:
 *  - the timer is deleted in the commit that sends the invocation, so a timer fired twice (a
 *    restart between firing and commit, a duplicate in the heap) is applied once and ignored
 *    after (a `tick` whose timer is gone or not yet due changes nothing);
 *  - the send goes through the outbox, deduplicated at the target partition (rule 5), so a
 *    crash between commit and delivery re-delivers without doubling;
 *  - the target partition joins an invocation whose id already exists instead of creating a
 *    second one, so a re-triggered or re-backfilled tick runs once (within the target's
 *    retention).
 * A crash before the `tick` commit loses nothing: the timer is still in the store and fires
 * again at start-up, and the catch-up policy decides what the downtime missed.
 *
 * ## Policies
 * - Cadence: a cron expression with optional seconds (5 or 6 fields) in a time zone (IANA name,
 *   default UTC; DST gaps and repeats as croner resolves them: a time skipped by the spring gap
 *   runs at the first instant after it, a repeated hour runs once), or a fixed interval.
 * - Catch-up, when a timer fires late (downtime): the due ticks are those from the recorded next
 *   tick up to `now`. `none` runs only the ticks at most MISFIRE_GRACE_MS late; `last` also runs
 *   the latest one when that leaves nothing; `all` runs the latest `limit` of them, oldest
 *   first. Ticks not run count as missed.
 * - Overlap, when a tick comes while earlier ticks' invocations still run (the schedule learns of
 *   completions through a `done` command its invocations send back through the outbox): `skip`
 *   drops it, `buffer-one` keeps one to start when the running one completes (further ones are
 *   dropped), `allow-all` starts it.
 * - Pause removes the timer; resume computes the next tick after the resume time (ticks of the
 *   pause are not caught up). Trigger runs one tick at the trigger time now; backfill runs every
 *   tick of a time range (at most MAX_BACKFILL_TICKS). Both ignore pause and overlap: an
 *   operator asked for them.
 *
 * Applying cron arithmetic inside apply is deterministic for a given time-zone database: the
 * tick a command produces depends only on the spec and the command's times.
 */
export {
  CadenceError,
  compileCadence,
  type CompiledCadence,
} from './cadence.ts';
export {
  MAX_BACKFILL_TICKS,
  MAX_CATCH_UP_LIMIT,
  MISFIRE_GRACE_MS,
  SCHEDULE_METADATA_KEY,
  scheduleIdempotencyKey,
  scheduleTimerKey,
  type CatchUpPolicy,
  type OverlapPolicy,
  type ScheduleCadence,
  type ScheduleRecord,
  type ScheduleSpec,
  type ScheduleTarget,
} from './model.ts';
export { parseScheduleSpec, scheduleFromMetadata, renderKey, ScheduleSpecError } from './spec.ts';
export { scheduleView } from './view.ts';
