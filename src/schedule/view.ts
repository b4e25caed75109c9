import type { ScheduleRecord } from './model.ts';

const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

/** A schedule as the admin API and the CLI show it (snake_case, ISO-8601 times). */
export function scheduleView(r: ScheduleRecord): Record<string, unknown> {
  const s = r.spec;
  return {
    id: s.id,
    target: { service: s.target.service, handler: s.target.handler, ...(s.target.key !== undefined ? { key: s.target.key } : {}) },
    ...(s.cadence.kind === 'cron'
      ? { cron: s.cadence.expression, timezone: s.cadence.timezone }
      : { every_ms: s.cadence.everyMs, anchor: iso(s.cadence.anchorMs) }),
    overlap: s.overlap,
    catch_up: s.catchUp,
    catch_up_limit: s.catchUpLimit,
    input: s.input.length > 0 ? JSON.parse(new TextDecoder().decode(s.input)) : null,
    declared: s.declared,
    paused: r.paused,
    next_tick: iso(r.nextTick),
    last_tick: iso(r.lastTick),
    running: [...r.running],
    buffered_tick: iso(r.buffered),
    started: r.started,
    skipped: r.skipped,
    missed: r.missed,
    last_error: r.lastError ?? null,
    created_at: iso(r.createdAt),
    modified_at: iso(r.updatedAt),
  };
}
