import { beforeEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../src/cli/schedules.ts';
import { CadenceError, compileCadence, parseScheduleSpec, renderKey, ScheduleSpecError, scheduleTimerKey, type ScheduleSpec } from '../../src/schedule/index.ts';
import type { HandlerKindLookup } from '../../src/schedule/spec.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import { SqlitePartitionStore, openSqlite } from '../../src/store/index.ts';
import { idempotentInvocationId, workflowRunId } from '../../src/types/index.ts';
import { apply, type Action, type Command, type NewInvocation, type ResolvedTarget, type ScheduleCommand } from '../../src/worker/index.ts';

// Schedules: the tick arithmetic, the validation of definitions, and the schedule commands of
// the partition state machine one by one on an in-memory SQLite store.

const iso = (t: number) => new Date(t).toISOString();
const at = (s: string) => Date.parse(s);

describe('cadence', () => {
  it('cron takes five fields or six with seconds', () => {
    const minutes = compileCadence({ kind: 'cron', expression: '*/15 * * * *', timezone: 'UTC' });
    expect(iso(minutes.next(at('2026-01-01T00:07:00Z'))!)).toBe('2026-01-01T00:15:00.000Z');
    const seconds = compileCadence({ kind: 'cron', expression: '*/20 * * * * *', timezone: 'UTC' });
    expect(iso(seconds.next(at('2026-01-01T00:00:00Z'))!)).toBe('2026-01-01T00:00:20.000Z');
  });

  it('a tick is strictly after the given instant, and between() includes both ends, oldest first', () => {
    const c = compileCadence({ kind: 'cron', expression: '* * * * * *', timezone: 'UTC' });
    const t = at('2026-01-01T00:00:05Z');
    expect(c.next(t)).toBe(t + 1000);
    expect(c.between(t, t + 3000, 10)).toEqual([t, t + 1000, t + 2000, t + 3000]);
    expect(c.between(t, t + 3000, 2)).toEqual([t + 2000, t + 3000]);
  });

  it('a time zone with DST: the spring gap runs at the first instant after it, the repeated autumn hour once', () => {
    const c = compileCadence({ kind: 'cron', expression: '30 2 * * *', timezone: 'Europe/Berlin' });
    // 2026-03-29 02:30 does not exist in Berlin (clocks go 02:00 -> 03:00 CEST).
    expect(iso(c.next(at('2026-03-28T12:00:00Z'))!)).toBe('2026-03-29T01:00:00.000Z');
    // 2026-10-25 02:30 happens twice (CEST then CET): one tick.
    const autumn = c.between(at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'), 10);
    expect(autumn).toHaveLength(1);
    // Before and after the change, 02:30 local is 00:30Z in summer and 01:30Z in winter.
    expect(iso(c.next(at('2026-07-01T00:00:00Z'))!)).toBe('2026-07-01T00:30:00.000Z');
    expect(iso(c.next(at('2026-12-01T00:00:00Z'))!)).toBe('2026-12-01T01:30:00.000Z');
  });

  it('a fixed interval counts from its anchor', () => {
    const c = compileCadence({ kind: 'every', everyMs: 10_000, anchorMs: 3_000 });
    expect(c.next(3_000)).toBe(13_000);
    expect(c.next(12_999)).toBe(13_000);
    expect(c.between(0, 40_000, 10)).toEqual([3_000, 13_000, 23_000, 33_000]);
  });

  it('bad expressions, time zones and intervals throw a CadenceError', () => {
    for (const expression of ['bad', '61 * * * *', '* * * * * * * *', '* * 32 * *']) {
      expect(() => compileCadence({ kind: 'cron', expression, timezone: 'UTC' }), expression).toThrow(CadenceError);
    }
    expect(() => compileCadence({ kind: 'cron', expression: '* * * * *', timezone: 'Mars/Olympus' })).toThrow(CadenceError);
    expect(() => compileCadence({ kind: 'every', everyMs: 999, anchorMs: 0 })).toThrow(CadenceError);
  });
});

const kinds: HandlerKindLookup = (service, handler) => {
  if (service === 'Svc') return handler === 'run' ? { serviceType: 'SERVICE', handlerType: undefined } : 'no-handler';
  if (service === 'Obj') return { serviceType: 'VIRTUAL_OBJECT', handlerType: 'EXCLUSIVE' };
  if (service === 'Wf') return { serviceType: 'WORKFLOW', handlerType: handler === 'run' ? 'WORKFLOW' : 'SHARED' };
  return 'no-service';
};

describe('schedule definitions', () => {
  const ok = { target: { service: 'Svc', handler: 'run' }, cron: '* * * * *' };
  const fieldOf = (body: Record<string, unknown>, id = 's1'): string => {
    try {
      parseScheduleSpec(id, body, 0, kinds);
    } catch (err) {
      if (err instanceof ScheduleSpecError) return err.field;
      throw err;
    }
    return 'accepted';
  };

  it('defaults: UTC, overlap skip, catch-up last with limit 10', () => {
    expect(parseScheduleSpec('s1', ok, 0, kinds)).toMatchObject({
      cadence: { kind: 'cron', expression: '* * * * *', timezone: 'UTC' },
      overlap: 'skip',
      catchUp: 'last',
      catchUpLimit: 10,
      declared: false,
    });
  });

  it('each bad part is refused with the field it is in', () => {
    expect(fieldOf(ok, 'bad id!')).toBe('id');
    expect(fieldOf({ ...ok, cron: '99 * * * *' })).toBe('cron');
    expect(fieldOf({ ...ok, timezone: 'Nowhere/Else' })).toBe('timezone');
    expect(fieldOf({ ...ok, cron: undefined })).toBe('cron');
    expect(fieldOf({ ...ok, every: '10s' })).toBe('cron');
    expect(fieldOf({ target: ok.target, every: 'ten' })).toBe('every');
    expect(fieldOf({ ...ok, overlap: 'sometimes' })).toBe('overlap');
    expect(fieldOf({ ...ok, catch_up: 'all', catch_up_limit: 0 })).toBe('catch_up_limit');
    expect(fieldOf({ ...ok, target: { service: 'Nope', handler: 'run' } })).toBe('target.service');
    expect(fieldOf({ ...ok, target: { service: 'Svc', handler: 'nope' } })).toBe('target.handler');
    expect(fieldOf({ ...ok, target: { service: 'Svc', handler: 'run', key: 'k' } })).toBe('target.key');
    expect(fieldOf({ ...ok, target: { service: 'Obj', handler: 'add' } })).toBe('target.key');
    expect(fieldOf({ ...ok, target: { service: 'Wf', handler: 'run', key: 'fixed' } })).toBe('target.key');
    expect(fieldOf({ ...ok, target: { service: 'Wf', handler: 'run', key: 'report-{tick}' } })).toBe('accepted');
    expect(fieldOf({ target: ok.target, every: '30s' })).toBe('accepted');
    expect(fieldOf({ ...ok, cron: '0 0 30 2 *' }), 'February 30th never comes').toBe('cron');
    expect(fieldOf({ target: ok.target, every: '400d' })).toBe('every');
  });

  it('the CLI reads Service/handler, Object/key/handler, and keys with slashes', () => {
    expect(parseTarget('Svc/run')).toEqual({ service: 'Svc', handler: 'run' });
    expect(parseTarget('Obj/k/add')).toEqual({ service: 'Obj', handler: 'add', key: 'k' });
    expect(parseTarget('Wf/reports/{tick}/run')).toEqual({ service: 'Wf', handler: 'run', key: 'reports/{tick}' });
    expect(parseTarget('Obj//add')).toEqual({ service: 'Obj', handler: 'add', key: '' });
    for (const bad of ['Svc', '/run', 'Svc/']) expect(() => parseTarget(bad), bad).toThrow(/bad target/);
  });

  it('key templates render the schedule and the tick', () => {
    expect(renderKey('{schedule}/{tick}/{tick_ms}', 's1', 1_000)).toBe('s1/1970-01-01T00:00:01.000Z/1000');
  });
});

const P = 0;
const partitioner = new Partitioner(1);
let store: SqlitePartitionStore;
let requestId = 0;

beforeEach(() => {
  store = new SqlitePartitionStore(openSqlite(':memory:'));
});

async function run(command: Command): Promise<Action[]> {
  return store.transaction((tx) => apply(tx, { partition: P, partitioner }, command));
}

const svc: ResolvedTarget = { service: 'Svc', handler: 'run', key: undefined, serviceType: 'SERVICE', handlerType: undefined, deploymentId: 'dp_1', retentionMs: 60_000 };
const wf: ResolvedTarget = { service: 'Wf', handler: 'run', key: '', serviceType: 'WORKFLOW', handlerType: 'WORKFLOW', deploymentId: 'dp_1', retentionMs: 60_000 };

const T0 = at('2026-01-01T00:00:00Z');
const everySecond = (extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  id: 's1',
  target: { service: 'Svc', handler: 'run', key: undefined },
  cadence: { kind: 'cron', expression: '* * * * * *', timezone: 'UTC' },
  overlap: 'allow-all',
  catchUp: 'all',
  catchUpLimit: 100,
  input: new Uint8Array(),
  declared: false,
  ...extra,
});

/** A command on schedule s1 (unless `id` says otherwise), answered to a fresh ingress sink. */
const op = (o: Omit<ScheduleCommand, 'kind' | 'id'> & { id?: string }): ScheduleCommand => ({
  kind: 'schedule',
  id: 's1',
  sink: { kind: 'ingress', node: 'n', requestId: ++requestId },
  ...o,
});
/** A command nobody waits for: the timer's ticks, an invocation's done. */
const quiet = (o: Omit<ScheduleCommand, 'kind' | 'id'> & { id?: string }): ScheduleCommand => ({ kind: 'schedule', id: 's1', ...o });
const tickAt = (now: number, target: ResolvedTarget = svc) => quiet({ op: 'tick', now, target });

/** The invocations a batch of actions sends (through the outbox). */
function sent(actions: Action[]): NewInvocation[] {
  return actions.flatMap((a) => (a.kind === 'shuffle' && a.message.command.kind === 'invoke' ? [a.message.command.invocation] : []));
}

function tickHeader(inv: NewInvocation): string {
  // The tick travels in the input entry's headers; enough to compare its ISO text.
  const text = new TextDecoder().decode(inv.inputEntry);
  return /\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(text)?.[0] ?? '';
}

async function timerOf(id = 's1') {
  return (await store.listTimers(P)).find((t) => t.key === scheduleTimerKey(id));
}

describe('schedules in the partition state machine', () => {
  it('put stores the schedule and arms a timer for the next tick after now', async () => {
    const actions = await run(op({ op: 'put', now: T0 + 300, spec: everySecond() }));
    expect(actions).toContainEqual({ kind: 'timer', partition: P, key: 'schedule:s1', fireAt: T0 + 1000 });
    expect(actions).toContainEqual(expect.objectContaining({ kind: 'answer', answer: { kind: 'op', id: 's1', outcome: 'done' } }));
    expect((await store.getSchedule(P, 's1'))?.nextTick).toBe(T0 + 1000);
    expect((await timerOf())?.fireAt).toBe(T0 + 1000);
  });

  it('a tick sends one invocation whose id derives from (schedule, tick time), and arms the next tick', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond() }));
    const actions = await run(tickAt(T0 + 1005));
    const [inv, ...more] = sent(actions);
    expect(more).toEqual([]);
    expect(inv!.id).toBe(idempotentInvocationId('Svc', undefined, 'run', `endure.schedule:s1:${T0 + 1000}`));
    expect(inv!.sink).toEqual({ kind: 'schedule', id: 's1', partition: P });
    expect(tickHeader(inv!)).toBe(iso(T0 + 1000));
    expect((await timerOf())?.fireAt).toBe(T0 + 2000);
  });

  it('the same tick applied twice, or a timer that is not due yet, sends nothing more', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond() }));
    expect(sent(await run(tickAt(T0 + 1000)))).toHaveLength(1);
    expect(sent(await run(tickAt(T0 + 1000)))).toHaveLength(0);
    expect(sent(await run(tickAt(T0 + 1500)))).toHaveLength(0);
    expect((await store.getSchedule(P, 's1'))?.started).toBe(1);
  });

  it('catch-up all runs every missed tick up to the limit, oldest first; none and last drop them', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond({ catchUpLimit: 3 }) }));
    const all = sent(await run(tickAt(T0 + 10_000)));
    expect(all.map(tickHeader)).toEqual([iso(T0 + 8000), iso(T0 + 9000), iso(T0 + 10_000)]);
    expect((await store.getSchedule(P, 's1'))?.missed).toBe(7);

    await run(op({ id: 's2', op: 'put', now: T0, spec: everySecond({ id: 's2', catchUp: 'none' }) }));
    const none = sent(await run({ ...tickAt(T0 + 20_000), id: 's2' }));
    // Only the ticks at most MISFIRE_GRACE_MS (5 s) late.
    expect(none.map(tickHeader)).toEqual([15, 16, 17, 18, 19, 20].map((s) => iso(T0 + s * 1000)));

    await run(op({ id: 's3', op: 'put', now: T0, spec: everySecond({ id: 's3', catchUp: 'last', cadence: { kind: 'every', everyMs: 60_000, anchorMs: T0 } }) }));
    const last = sent(await run({ ...tickAt(T0 + 600_000 + 30_000), id: 's3' }));
    expect(last.map(tickHeader)).toEqual([iso(T0 + 600_000)]);
  });

  it('overlap skip drops a tick while the previous one runs; its completion frees the schedule', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond({ overlap: 'skip' }) }));
    const [first] = sent(await run(tickAt(T0 + 1000)));
    expect(sent(await run(tickAt(T0 + 2000)))).toHaveLength(0);
    expect((await store.getSchedule(P, 's1'))?.skipped).toBe(1);

    // The tick's invocation runs and ends on its partition: the schedule hears of it.
    await run({ kind: 'invoke', invocation: first! });
    const ended = await run({ kind: 'fail', id: first!.id, now: T0 + 2500, result: { ok: false, code: 500, message: 'boom' } });
    const done = ended.flatMap((a) => (a.kind === 'shuffle' && a.message.command.kind === 'schedule' ? [a.message.command] : []));
    expect(done).toEqual([expect.objectContaining({ op: 'done', id: 's1', invocationId: first!.id })]);
    await run(done[0]!);
    expect((await store.getSchedule(P, 's1'))?.running).toEqual([]);
    expect(sent(await run(tickAt(T0 + 3000)))).toHaveLength(1);
  });

  it('overlap buffer-one keeps one tick and starts it when the running one completes', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond({ overlap: 'buffer-one' }) }));
    const [first] = sent(await run(tickAt(T0 + 1000)));
    await run(tickAt(T0 + 2000));
    await run(tickAt(T0 + 3000));
    const r = await store.getSchedule(P, 's1');
    expect(r?.buffered).toBe(T0 + 2000);
    expect(r?.skipped).toBe(1);
    // Done: the timer fires at once so the leader resolves the target; the buffered tick starts.
    const doneActions = await run(quiet({ op: 'done', now: T0 + 3200, invocationId: first!.id }));
    expect(doneActions).toContainEqual({ kind: 'timer', partition: P, key: 'schedule:s1', fireAt: T0 + 3200 });
    const started = sent(await run(tickAt(T0 + 3200)));
    expect(started.map(tickHeader)).toEqual([iso(T0 + 2000)]);
    expect((await timerOf())?.fireAt).toBe(T0 + 4000);
  });

  it('pause removes the timer; resume arms the next tick after the resume time', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond() }));
    await run(op({ op: 'pause', now: T0 + 100 }));
    expect(await timerOf()).toBeUndefined();
    expect(sent(await run(tickAt(T0 + 1000)))).toHaveLength(0);
    await run(op({ op: 'resume', now: T0 + 60_500 }));
    expect((await timerOf())?.fireAt).toBe(T0 + 61_000);
  });

  it('putting the same definition again keeps the schedule as it is; a new one re-arms it', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond() }));
    await run(op({ op: 'pause', now: T0 + 10 }));
    await run(op({ op: 'put', now: T0 + 20, spec: everySecond() }));
    expect((await store.getSchedule(P, 's1'))?.paused).toBe(true);
    await run(op({ op: 'resume', now: T0 + 30 }));
    await run(op({ op: 'put', now: T0 + 5_500, spec: everySecond({ overlap: 'skip' }) }));
    expect((await timerOf())?.fireAt).toBe(T0 + 6000);
  });

  it('delete removes the schedule and its timer; commands on it then answer not-found', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond() }));
    await run(op({ op: 'delete', now: T0 }));
    expect(await store.getSchedule(P, 's1')).toBeUndefined();
    expect(await timerOf()).toBeUndefined();
    expect(await run(op({ op: 'pause', now: T0, sink: { kind: 'ingress', node: 'n', requestId: 7 } }))).toEqual([
      { kind: 'answer', sink: { kind: 'ingress', node: 'n', requestId: 7 }, answer: { kind: 'op', id: 's1', outcome: 'not-found' } },
    ]);
  });

  it('backfill sends each tick of the range and trigger one at now, both with the tick identity', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond({ overlap: 'skip' }) }));
    const filled = sent(await run(op({ op: 'backfill', now: T0 + 50, from: T0 - 3000, to: T0 - 1000, target: svc })));
    expect(filled.map(tickHeader)).toEqual([iso(T0 - 3000), iso(T0 - 2000), iso(T0 - 1000)]);
    const again = sent(await run(op({ op: 'backfill', now: T0 + 60, from: T0 - 3000, to: T0 - 1000, target: svc })));
    expect(again.map((i) => i.id)).toEqual(filled.map((i) => i.id));
    const [now] = sent(await run(op({ op: 'trigger', now: T0 + 70, target: svc })));
    expect(tickHeader(now!)).toBe(iso(T0 + 70));
  });

  it('a workflow target runs under the id its template renders for the tick', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond({ target: { service: 'Wf', handler: 'run', key: 'report-{tick_ms}' } }) }));
    const [inv] = sent(await run(tickAt(T0 + 1000, wf)));
    expect(inv!.id).toBe(workflowRunId('Wf', `report-${T0 + 1000}`));
    expect(inv!.target.key).toBe(`report-${T0 + 1000}`);
    expect(inv!.idempotencyKey).toBeUndefined();
  });

  it('a plain timer-fired for a schedule timer leaves the timer to the schedule tick', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond() }));
    await run({ kind: 'timer-fired', timerKey: scheduleTimerKey('s1'), now: T0 + 1000 });
    expect((await timerOf())?.fireAt).toBe(T0 + 1000);
    expect(sent(await run(tickAt(T0 + 1000)))).toHaveLength(1);
  });

  it('a tick whose target is gone records why and keeps ticking', async () => {
    await run(op({ op: 'put', now: T0, spec: everySecond() }));
    expect(sent(await run(quiet({ op: 'tick', now: T0 + 1000 })))).toHaveLength(0);
    const r = await store.getSchedule(P, 's1');
    expect(r?.lastError).toMatch(/not found/);
    expect(r?.nextTick).toBe(T0 + 2000);
  });
});
