import { flowTimerKey, insertWaiter, limitOf, nextTokenAt, refill, type FlowLimiter, type FlowRule, type FlowWaiter } from '../flow/index.ts';
import type { PartitionTx } from '../store/index.ts';
import type { FlowCommand, IngressAnswer, IngressSink, InvocationResult, OutboxMessage, TimerPayload } from './model.ts';

/** The result of an invocation replaced by a later one within its debounce window. */
export const DEBOUNCED: InvocationResult = { ok: false, code: 409, message: 'debounced: a later invocation with the same limit key replaced it' };

/** What the flow part of apply uses of the partition state machine. */
export interface FlowHost {
  readonly tx: PartitionTx;
  readonly partition: number;
  outbox(message: OutboxMessage): Promise<void>;
  putTimer(key: string, fireAt: number, payload: TimerPayload): Promise<void>;
  answer(sink: IngressSink | undefined, answer: IngressAnswer): void;
  /** A parked invocation got its permit: start it (if still parked). */
  granted(id: string, now: number): Promise<void>;
  /** A parked invocation lost to a later one of its debounce window: complete it (if still parked). */
  debounced(id: string, now: number): Promise<void>;
}

/**
 * Applies one `flow` command (flow/index.ts has the design). Deterministic like the rest of
 * apply: the time comes inside the command, and the rule is the one this partition stores.
 */
export async function applyFlow(host: FlowHost, cmd: FlowCommand): Promise<void> {
  const { tx, partition } = host;
  switch (cmd.op) {
    case 'put-rule': {
      if (!cmd.spec) return host.answer(cmd.sink, { kind: 'op', id: cmd.rule, outcome: 'not-found' });
      const previous = await tx.getFlowRule(partition, cmd.rule);
      const rule: FlowRule = { ...cmd.spec, createdAt: previous?.createdAt ?? cmd.spec.createdAt };
      await tx.putFlowRule(partition, rule);
      // New numbers apply to those already waiting.
      for (const l of await tx.listFlowLimiters(partition, cmd.rule)) await pump(host, rule, l, cmd.now);
      return host.answer(cmd.sink, { kind: 'op', id: cmd.rule, outcome: 'done' });
    }
    case 'delete-rule': {
      if (!(await tx.getFlowRule(partition, cmd.rule))) return host.answer(cmd.sink, { kind: 'op', id: cmd.rule, outcome: 'not-found' });
      await tx.deleteFlowRule(partition, cmd.rule);
      // Without a rule nothing is limited: whoever waits starts now.
      for (const l of await tx.listFlowLimiters(partition, cmd.rule)) await pump(host, undefined, l, cmd.now);
      return host.answer(cmd.sink, { kind: 'op', id: cmd.rule, outcome: 'done' });
    }
    case 'acquire': {
      if (cmd.invocationId === undefined || cmd.partition === undefined) return;
      const rule = await tx.getFlowRule(partition, cmd.rule);
      const key = cmd.limitKey ?? '';
      const limiter = (await tx.getFlowLimiter(partition, cmd.rule, key)) ?? fresh(rule, cmd.rule, key, cmd.now);
      if (knows(limiter, cmd.invocationId)) return;
      limiter.seq += 1;
      const waiter: FlowWaiter = { id: cmd.invocationId, partition: cmd.partition, priority: cmd.priority ?? 0, seq: limiter.seq };
      if (rule?.debounceMs !== undefined) {
        // Trailing debounce: the newest arrival replaces the one waiting, and the window restarts.
        if (limiter.debounced) await send(host, 'debounced', limiter, limiter.debounced, cmd.now);
        limiter.debounced = waiter;
        limiter.debounceUntil = cmd.now + rule.debounceMs;
      } else {
        insertWaiter(limiter.waiting, waiter);
      }
      return pump(host, rule, limiter, cmd.now);
    }
    case 'release': {
      if (cmd.invocationId === undefined) return;
      const key = cmd.limitKey ?? '';
      const limiter = await tx.getFlowLimiter(partition, cmd.rule, key);
      if (!limiter || !knows(limiter, cmd.invocationId)) return;
      // Whatever it held goes back; a waiter held nothing.
      const id = cmd.invocationId;
      limiter.running = limiter.running.filter((w) => w.id !== id);
      limiter.waiting = limiter.waiting.filter((w) => w.id !== id);
      if (limiter.debounced?.id === id) limiter.debounced = undefined;
      return pump(host, await tx.getFlowRule(partition, cmd.rule), limiter, cmd.now);
    }
    case 'grant':
      if (cmd.invocationId !== undefined) await host.granted(cmd.invocationId, cmd.now);
      return;
    case 'debounced':
      if (cmd.invocationId !== undefined) await host.debounced(cmd.invocationId, cmd.now);
      return;
  }
}

/** The limiter's timer fired: refill, close a due debounce window, grant what is allowed. */
export async function pumpFlowTimer(host: FlowHost, ruleId: string, limitKey: string, now: number): Promise<void> {
  const limiter = await host.tx.getFlowLimiter(host.partition, ruleId, limitKey);
  if (!limiter) return;
  await pump(host, await host.tx.getFlowRule(host.partition, ruleId), limiter, now);
}

/**
 * Grants permits in queue order while the rule allows, arms the timer for the next moment
 * something becomes possible, and stores the limiter (or drops it once it is idle and full).
 */
async function pump(host: FlowHost, rule: FlowRule | undefined, limiter: FlowLimiter, now: number): Promise<void> {
  const { tx, partition } = host;
  if (rule) refill(rule, limiter, now);
  if (limiter.debounced && (rule?.debounceMs === undefined || now >= limiter.debounceUntil)) {
    insertWaiter(limiter.waiting, limiter.debounced);
    limiter.debounced = undefined;
  }
  const limit = limitOf(rule);
  while (limiter.waiting.length > 0 && limiter.running.length < limit) {
    if (rule?.rate !== undefined) {
      if (limiter.tokens < 1) break;
      limiter.tokens -= 1;
    }
    const next = limiter.waiting.shift()!;
    limiter.running.push(next);
    await send(host, 'grant', limiter, next, now);
  }

  let wake: number | undefined;
  if (limiter.debounced) wake = limiter.debounceUntil;
  if (rule?.rate !== undefined && limiter.waiting.length > 0 && limiter.running.length < limit) {
    const t = nextTokenAt(rule, limiter);
    wake = wake === undefined ? t : Math.min(wake, t);
  }
  const timerKey = flowTimerKey(limiter.rule, limiter.limitKey);
  if (wake !== undefined) await host.putTimer(timerKey, wake, { kind: 'flow', id: timerKey });
  else await tx.deleteTimer(partition, timerKey);

  const idle = limiter.running.length === 0 && limiter.waiting.length === 0 && !limiter.debounced;
  // A bucket not yet full must stay: dropping it would hand out a fresh burst.
  if (idle && (rule?.rate === undefined || limiter.tokens >= rule.rate.burst)) {
    await tx.deleteFlowLimiter(partition, limiter.rule, limiter.limitKey);
  } else {
    await tx.putFlowLimiter(partition, limiter);
  }
}

function fresh(rule: FlowRule | undefined, ruleId: string, limitKey: string, now: number): FlowLimiter {
  return {
    rule: ruleId,
    limitKey,
    running: [],
    waiting: [],
    tokens: rule?.rate?.burst ?? 0,
    refilledAt: now,
    debounced: undefined,
    debounceUntil: 0,
    seq: 0,
  };
}

function knows(l: FlowLimiter, id: string): boolean {
  return l.running.some((w) => w.id === id) || l.waiting.some((w) => w.id === id) || l.debounced?.id === id;
}

async function send(host: FlowHost, op: 'grant' | 'debounced', l: FlowLimiter, w: FlowWaiter, now: number): Promise<void> {
  await host.outbox({ partition: w.partition, command: { kind: 'flow', op, rule: l.rule, invocationId: w.id, now } });
}
