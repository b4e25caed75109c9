/**
 * The pure arithmetic of a limiter: the token bucket, the queue order, and the names of a
 * limiter's partition key and timer. No clock: every time is an argument.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { pb } from '../protocol/index.ts';
import { LIMIT_KEY_HEADER, MAX_LIMIT_KEY_LENGTH, MAX_PRIORITY, MIN_PRIORITY, PRIORITY_HEADER, type FlowLimiter, type FlowRule, type FlowWaiter } from './model.ts';

/** Tokens of the bucket at `now` (never less than at the last refill: command times may interleave). */
export function refill(rule: FlowRule, limiter: FlowLimiter, now: number): void {
  const rate = rule.rate;
  if (rate === undefined) return;
  const elapsed = now - limiter.refilledAt;
  if (elapsed <= 0) return;
  limiter.tokens = Math.min(rate.burst, limiter.tokens + (elapsed * rate.count) / rate.intervalMs);
  limiter.refilledAt = now;
}

/** When the bucket next holds a whole token (after a refill at `limiter.refilledAt`). */
export function nextTokenAt(rule: FlowRule, limiter: FlowLimiter): number {
  const rate = rule.rate;
  if (rate === undefined || limiter.tokens >= 1) return limiter.refilledAt;
  return limiter.refilledAt + Math.ceil(((1 - limiter.tokens) * rate.intervalMs) / rate.count);
}

/** Queues a waiter: higher priority first, then by arrival. */
export function insertWaiter(queue: FlowWaiter[], w: FlowWaiter): void {
  let i = queue.length;
  while (i > 0 && queue[i - 1]!.priority < w.priority) i--;
  queue.splice(i, 0, w);
}

/** The permits a rule allows at once (no concurrency limit: unbounded). */
export function limitOf(rule: FlowRule | undefined): number {
  return rule?.concurrency ?? Number.POSITIVE_INFINITY;
}

/** The partition key of a rule: its limiters all live with it. */
export function flowPartitionKey(rule: string): string {
  return `flow/${rule}`;
}

const TIMER_PREFIX = 'flow:';
// Rule ids never contain '|' (spec.ts), so the first one after the prefix ends the rule id.
const TIMER_SEPARATOR = '|';

/** The timer that pumps a limiter when a token or a debounce window is due. */
export function flowTimerKey(rule: string, limitKey: string): string {
  return `${TIMER_PREFIX}${rule}${TIMER_SEPARATOR}${limitKey}`;
}

/** Inverse of flowTimerKey; undefined for other timers. */
export function parseFlowTimerKey(key: string): { rule: string; limitKey: string } | undefined {
  if (!key.startsWith(TIMER_PREFIX)) return undefined;
  const i = key.indexOf(TIMER_SEPARATOR, TIMER_PREFIX.length);
  if (i < 0) return undefined;
  return { rule: key.slice(TIMER_PREFIX.length, i), limitKey: key.slice(i + 1) };
}

/**
 * The limit key and priority of an invocation, from the headers of its input command (protobuf
 * InputCommandMessage). A missing or unreadable priority is 0; out-of-range ones are clamped;
 * an overlong key is cut and NUL characters dropped, so that any input gives the same answer on every replay.
 */
export function limitKeyAndPriority(inputEntry: Uint8Array): { limitKey: string; priority: number } {
  let headers: { key: string; value: string }[];
  try {
    headers = fromBinary(pb.InputCommandMessageSchema, inputEntry).headers;
  } catch {
    return { limitKey: '', priority: 0 };
  }
  let limitKey = '';
  let priority = 0;
  for (const h of headers) {
    const name = h.key.toLowerCase();
    // NUL never reaches the store: PostgreSQL text cannot hold it.
    if (name === LIMIT_KEY_HEADER) limitKey = h.value.replaceAll('\u0000', '').slice(0, MAX_LIMIT_KEY_LENGTH);
    else if (name === PRIORITY_HEADER) priority = parsePriority(h.value);
  }
  return { limitKey, priority };
}

/** An integer priority; anything else is 0. */
export function parsePriority(raw: string): number {
  const v = raw.trim();
  if (!/^[+-]?\d{1,16}$/.test(v)) return 0;
  return Math.min(MAX_PRIORITY, Math.max(MIN_PRIORITY, Number(v)));
}

/** Why the flow headers of an ingress request are refused, or undefined when they are fine. */
export function flowHeaderProblem(limitKey: string | undefined, priority: string | undefined): string | undefined {
  if (limitKey !== undefined && limitKey.length > MAX_LIMIT_KEY_LENGTH) {
    return `bad header ${LIMIT_KEY_HEADER}: longer than ${MAX_LIMIT_KEY_LENGTH} characters`;
  }
  if (priority !== undefined) {
    const v = priority.trim();
    const n = /^[+-]?\d{1,16}$/.test(v) ? Number(v) : NaN;
    if (!(n >= MIN_PRIORITY && n <= MAX_PRIORITY)) {
      return `bad header ${PRIORITY_HEADER}: expected an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}, got '${priority}'`;
    }
  }
  return undefined;
}
