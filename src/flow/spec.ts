import { parseFriendlyDuration } from '../admin/index.ts';
import {
  MAX_CONCURRENCY,
  MAX_DEBOUNCE_MS,
  MAX_INTERVAL_MS,
  MAX_RATE_COUNT,
  MIN_INTERVAL_MS,
  type FlowRate,
  type FlowRule,
} from './model.ts';

/** A rule that cannot be accepted; `field` names the offending request field. */
export class FlowRuleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FlowRuleError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** The id of the rule for a service, or for one of its handlers. */
export function flowRuleId(service: string, handler?: string): string {
  return handler === undefined ? service : `${service}/${handler}`;
}

/**
 * Validates a rule's JSON body (`{concurrency, rate: {count, interval, burst}, debounce}`) for
 * the rule `id` (`Service` or `Service/handler`). Durations are friendly strings ("1s",
 * "500ms", "PT1M") or milliseconds. At least one limit is required.
 */
export function parseFlowRule(id: string, body: Record<string, unknown>, now: number, previous?: FlowRule): FlowRule {
  const [service, handler, extra] = id.split('/');
  if (service === undefined || !NAME.test(service) || (handler !== undefined && !NAME.test(handler)) || extra !== undefined) {
    throw new FlowRuleError('id', `'${id}' is not a rule id: expected 'Service' or 'Service/handler'`);
  }
  for (const k of Object.keys(body)) {
    if (!['concurrency', 'rate', 'debounce'].includes(k)) throw new FlowRuleError(k, 'unknown field; expected concurrency, rate or debounce');
  }
  const concurrency = body.concurrency == null ? undefined : integer('concurrency', body.concurrency, 1, MAX_CONCURRENCY);
  const rate = body.rate == null ? undefined : parseRate(body.rate);
  const debounceMs = body.debounce == null ? undefined : duration('debounce', body.debounce, 1, MAX_DEBOUNCE_MS);
  if (concurrency === undefined && rate === undefined && debounceMs === undefined) {
    throw new FlowRuleError('concurrency', 'a rule needs at least one of concurrency, rate, debounce');
  }
  return { id, service, handler, concurrency, rate, debounceMs, createdAt: previous?.createdAt ?? now, updatedAt: now };
}

function parseRate(raw: unknown): FlowRate {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FlowRuleError('rate', 'expected an object {count, interval, burst}');
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!['count', 'interval', 'burst'].includes(k)) throw new FlowRuleError(`rate.${k}`, 'unknown field; expected count, interval or burst');
  }
  const count = integer('rate.count', r.count, 1, MAX_RATE_COUNT);
  const intervalMs = r.interval == null ? 1000 : duration('rate.interval', r.interval, MIN_INTERVAL_MS, MAX_INTERVAL_MS);
  const burst = r.burst == null ? count : integer('rate.burst', r.burst, 1, MAX_RATE_COUNT);
  return { count, intervalMs, burst };
}

function integer(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new FlowRuleError(field, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function duration(field: string, v: unknown, min: number, max: number): number {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? parseFriendlyDuration(v) : undefined;
  if (ms === undefined || !Number.isFinite(ms) || ms < min || ms > max) {
    throw new FlowRuleError(field, `expected a duration such as "1s" or "500ms" (or milliseconds) from ${min} ms to ${max} ms, got ${JSON.stringify(v)}`);
  }
  return ms;
}
