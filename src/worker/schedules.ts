import { create, toBinary } from '@bufbuild/protobuf';
import { pb } from '../protocol/index.ts';
import {
  MAX_BACKFILL_TICKS,
  MISFIRE_GRACE_MS,
  compileCadence,
  renderKey,
  scheduleIdempotencyKey,
  scheduleTimerKey,
  type ScheduleRecord,
} from '../schedule/index.ts';
import type { PartitionTx } from '../store/index.ts';
import { idempotentInvocationId, workflowRunId } from '../types/index.ts';
import type { IngressAnswer, IngressSink, OutboxMessage, ResolvedTarget, ScheduleCommand, TimerPayload } from './model.ts';

/** What the schedule part of apply uses of the partition state machine. */
export interface ScheduleHost {
  readonly tx: PartitionTx;
  readonly partition: number;
  partitionOfInvocation(id: string): number;
  outbox(message: OutboxMessage): Promise<void>;
  putTimer(key: string, fireAt: number, payload: TimerPayload): Promise<void>;
  answer(sink: IngressSink | undefined, answer: IngressAnswer): void;
}

/**
 * Applies one `schedule` command (schedule/index.ts has the design). Deterministic like the
 * rest of apply: times and the resolved target come inside the command.
 */
export async function applySchedule(host: ScheduleHost, cmd: ScheduleCommand): Promise<void> {
  const { tx, partition } = host;
  const record = await tx.getSchedule(partition, cmd.id);
  const answer = (outcome: 'done' | 'not-found') => host.answer(cmd.sink, { kind: 'op', id: cmd.id, outcome });
  const timerKey = scheduleTimerKey(cmd.id);

  if (cmd.op === 'put') {
    const spec = cmd.spec;
    if (!spec) return answer('not-found');
    // The same definition again (a deployment registered again) keeps the schedule as it is.
    if (record && sameSpec(record.spec, spec)) return answer('done');
    const next: ScheduleRecord = record
      ? { ...record, spec, buffered: undefined, lastError: undefined, updatedAt: cmd.now }
      : {
          spec,
          paused: false,
          nextTick: undefined,
          running: [],
          buffered: undefined,
          lastTick: undefined,
          started: 0,
          skipped: 0,
          missed: 0,
          lastError: undefined,
          createdAt: cmd.now,
          updatedAt: cmd.now,
        };
    await arm(host, next, cmd.now);
    return answer('done');
  }
  if (!record) {
    // A tick of a deleted schedule: its timer may remain.
    if (cmd.op === 'tick') await tx.deleteTimer(partition, timerKey);
    return answer('not-found');
  }

  switch (cmd.op) {
    case 'delete':
      await tx.deleteSchedule(partition, cmd.id);
      await tx.deleteTimer(partition, timerKey);
      return answer('done');
    case 'pause':
      if (!record.paused) {
        record.paused = true;
        record.nextTick = undefined;
        record.buffered = undefined;
        record.updatedAt = cmd.now;
        await tx.deleteTimer(partition, timerKey);
        await tx.putSchedule(partition, record);
      }
      return answer('done');
    case 'resume':
      if (record.paused) {
        record.paused = false;
        record.updatedAt = cmd.now;
        await arm(host, record, cmd.now);
      }
      return answer('done');
    case 'trigger':
      await start(host, record, cmd.now, cmd.target, cmd.now);
      await tx.putSchedule(partition, record);
      return answer('done');
    case 'backfill': {
      const ticks = compileCadence(record.spec.cadence).between(cmd.from ?? 0, cmd.to ?? 0, MAX_BACKFILL_TICKS);
      for (const t of ticks) await start(host, record, t, cmd.target, cmd.now);
      await tx.putSchedule(partition, record);
      return answer('done');
    }
    case 'tick':
      return tick(host, record, cmd);
    case 'done': {
      const i = cmd.invocationId === undefined ? -1 : record.running.indexOf(cmd.invocationId);
      if (i < 0) return;
      record.running.splice(i, 1);
      await tx.putSchedule(partition, record);
      // The buffered tick starts now: fire the timer at once, so that the leader resolves the target.
      if (record.running.length === 0 && record.buffered !== undefined && !record.paused) {
        await host.putTimer(timerKey, cmd.now, { kind: 'schedule', id: cmd.id });
      }
      return;
    }
  }
}

/** The timer fired: run the due ticks the catch-up and overlap policies allow, arm the next. */
async function tick(host: ScheduleHost, record: ScheduleRecord, cmd: ScheduleCommand): Promise<void> {
  const { tx, partition } = host;
  const timer = await tx.getTimer(partition, scheduleTimerKey(record.spec.id));
  // Fired twice, or a timer replaced since it was read: nothing to do (exactly once).
  if (!timer || timer.fireAt > cmd.now || record.paused || record.nextTick === undefined) return;
  await tx.deleteTimer(partition, scheduleTimerKey(record.spec.id));
  const spec = record.spec;
  const now = cmd.now;
  // Missed ticks are counted up to MAX_BACKFILL_TICKS per firing.
  const due = compileCadence(spec.cadence).between(record.nextTick, now, MAX_BACKFILL_TICKS);
  let run: number[];
  if (spec.catchUp === 'all') run = due.slice(-spec.catchUpLimit);
  else {
    run = due.filter((t) => now - t <= MISFIRE_GRACE_MS);
    if (run.length === 0 && spec.catchUp === 'last' && due.length > 0) run = due.slice(-1);
  }
  record.missed += due.length - run.length;
  if (record.buffered !== undefined && record.running.length === 0) {
    const buffered = record.buffered;
    record.buffered = undefined;
    await start(host, record, buffered, cmd.target, now);
  }
  for (const t of run) {
    if (record.running.length > 0 && spec.overlap !== 'allow-all') {
      if (spec.overlap === 'buffer-one' && record.buffered === undefined) record.buffered = t;
      else record.skipped += 1;
      continue;
    }
    await start(host, record, t, cmd.target, now);
  }
  await arm(host, record, now);
}

/** Sends the invocation of tick `t`; its identity is (schedule, tick), so a repeat joins it. */
async function start(host: ScheduleHost, record: ScheduleRecord, t: number, target: ResolvedTarget | undefined, now: number): Promise<void> {
  const spec = record.spec;
  if (target === undefined) {
    record.lastError = `target ${spec.target.service}/${spec.target.handler} not found`;
    return;
  }
  const key = spec.target.key === undefined ? undefined : renderKey(spec.target.key, spec.id, t);
  const resolved: ResolvedTarget = { ...target, key: target.serviceType === 'SERVICE' ? undefined : (key ?? '') };
  const workflowRun = resolved.serviceType === 'WORKFLOW' && resolved.handlerType === 'WORKFLOW';
  const idempotencyKey = workflowRun ? undefined : scheduleIdempotencyKey(spec.id, t);
  const id = workflowRun
    ? workflowRunId(resolved.service, resolved.key ?? '')
    : idempotentInvocationId(resolved.service, resolved.key, resolved.handler, idempotencyKey ?? '');
  const inputEntry = toBinary(
    pb.InputCommandMessageSchema,
    create(pb.InputCommandMessageSchema, {
      headers: [
        // The handler can tell which schedule and tick it runs for.
        { key: 'endure-schedule', value: spec.id },
        { key: 'endure-schedule-tick', value: new Date(t).toISOString() },
        ...(spec.input.length > 0 ? [{ key: 'content-type', value: 'application/json' }] : []),
      ],
      value: { content: spec.input },
    }),
  );
  await host.outbox({
    partition: host.partitionOfInvocation(id),
    command: {
      kind: 'invoke',
      invocation: {
        id,
        target: resolved,
        inputEntry,
        idempotencyKey,
        executeAt: undefined,
        createdAt: now,
        sink: { kind: 'schedule', id: spec.id, partition: host.partition },
        sinkMode: 'result',
      },
    },
  });
  if (!record.running.includes(id)) record.running.push(id);
  record.started += 1;
  record.lastTick = Math.max(record.lastTick ?? t, t);
  record.lastError = undefined;
}

/** Stores the record with its next tick after `now` and the timer for it (none while paused). */
async function arm(host: ScheduleHost, record: ScheduleRecord, now: number): Promise<void> {
  record.nextTick = record.paused ? undefined : compileCadence(record.spec.cadence).next(now);
  await host.tx.putSchedule(host.partition, record);
  if (record.nextTick !== undefined) await host.putTimer(scheduleTimerKey(record.spec.id), record.nextTick, { kind: 'schedule', id: record.spec.id });
  else await host.tx.deleteTimer(host.partition, scheduleTimerKey(record.spec.id));
}

function sameSpec(a: ScheduleRecord['spec'], b: ScheduleRecord['spec']): boolean {
  return JSON.stringify({ ...a, input: [...a.input] }) === JSON.stringify({ ...b, input: [...b.input] });
}
