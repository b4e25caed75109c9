import type { FlowLimiter, FlowRule } from './model.ts';

const iso = (t: number) => new Date(t).toISOString();

/** A rule as the admin API and the CLI show it (snake_case, ISO-8601 times). */
export function flowRuleView(r: FlowRule): Record<string, unknown> {
  return {
    id: r.id,
    service: r.service,
    handler: r.handler ?? null,
    concurrency: r.concurrency ?? null,
    rate: r.rate ? { count: r.rate.count, interval_ms: r.rate.intervalMs, burst: r.rate.burst } : null,
    debounce_ms: r.debounceMs ?? null,
    created_at: iso(r.createdAt),
    modified_at: iso(r.updatedAt),
  };
}

/** A limiter's live counters. */
export function flowLimiterView(l: FlowLimiter): Record<string, unknown> {
  return {
    limit_key: l.limitKey,
    running: l.running.map((w) => w.id),
    waiting: l.waiting.map((w) => ({ id: w.id, priority: w.priority })),
    debounced: l.debounced?.id ?? null,
    tokens: l.tokens,
  };
}
