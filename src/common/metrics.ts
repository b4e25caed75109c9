/**
 * Prometheus metrics of an Endure process, served by the admin API at `GET /metrics`.
 *
 * This module owns the one registry; the rest of the code records through the small functions
 * below and never sees prom-client. Labels are bounded by construction: service and handler
 * names come from the schema registry (unknown targets are labelled `unknown`), statuses and
 * kinds from fixed sets, partitions from the partition count. Invocation ids, keys and
 * idempotency keys never become labels. Recording is cheap on the hot path: label children
 * used per command are bound once and reused.
 *
 * Values that are cheaper to read than to track (timers waiting, open invoker streams, the
 * partitions' appended and applied LSNs) are read at scrape time from the node that registered
 * itself with `observeNode`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Latency buckets in seconds for requests and attempts: 1ms … 60s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets in seconds for a commit reaching disk: 50µs … 2.5s. */
const COMMIT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];
/** Commands per group-commit batch. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

const ingressRequests = new Counter({
  name: 'endure_ingress_requests_total',
  help: 'HTTP ingress requests answered, by target service, handler and response status',
  labelNames: ['service', 'handler', 'status'] as const,
  registers: [registry],
});
const ingressDuration = new Histogram({
  name: 'endure_ingress_request_duration_seconds',
  help: 'Time from an ingress request being read to its answer, by target service, handler and status',
  labelNames: ['service', 'handler', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
const invocations = new Counter({
  name: 'endure_invocations_total',
  help: 'Invocations that reached an outcome on this node: completed, failed (terminal error), killed or paused after their retries',
  labelNames: ['status'] as const,
  registers: [registry],
});
const attempts = new Counter({
  name: 'endure_invocation_attempts_total',
  help: 'Invocation attempts run against deployments, by how they ended',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
const attemptDuration = new Histogram({
  name: 'endure_invocation_attempt_duration_seconds',
  help: 'Duration of invocation attempts, by how they ended',
  labelNames: ['outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
const retries = new Counter({
  name: 'endure_invocation_retries_total',
  help: 'Failed attempts that were scheduled for a retry',
  registers: [registry],
});
const appends = new Counter({
  name: 'endure_log_appends_total',
  help: 'Commands appended to partition logs (journal entries, invocations, completions ...), by command kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});
const batchSize = new Histogram({
  name: 'endure_log_batch_size',
  help: 'Commands committed together in one group-commit transaction',
  buckets: BATCH_BUCKETS,
  registers: [registry],
});
const commitDuration = new Histogram({
  name: 'endure_log_commit_duration_seconds',
  help: 'Time from a batch starting its transaction to being durable on disk (fsync included)',
  buckets: COMMIT_BUCKETS,
  registers: [registry],
});
const timerLateness = new Histogram({
  name: 'endure_timer_lateness_seconds',
  help: 'How late timers fired compared to their due time',
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300],
  registers: [registry],
});

/** What a node reports at scrape time. */
export interface NodeGauges {
  /** Timers held by the timer service, waiting to fire. */
  timersPending(): number;
  /** Attempts with an open stream to a deployment. */
  invokerConnections(): number;
  /** Invocations waiting for their next retry. */
  invocationsBackingOff(): number;
  /** Per partition: last LSN appended and last LSN applied and durable. */
  partitions(): readonly { partition: number; appended: number; applied: number }[];
  /** Commands submitted and not yet in a committed batch. */
  pendingCommands(): number;
  /** How many invocations are in each phase that is not final (invoked, suspended, paused ...). */
  activeInvocations(): Promise<Readonly<Record<string, number>>>;
}

let node: NodeGauges | undefined;

function gauge(name: string, help: string, read: (n: NodeGauges) => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(node ? read(node) : 0);
    },
  });
}

gauge('endure_timers_pending', 'Durable timers waiting to fire on this node', (n) => n.timersPending());
gauge('endure_invoker_connections', 'Invocation attempts with an open stream to a deployment', (n) => n.invokerConnections());
gauge('endure_invocations_backing_off', 'Invocations waiting for their next retry', (n) => n.invocationsBackingOff());
gauge('endure_worker_pending_commands', 'Commands submitted and waiting for the next group commit', (n) => n.pendingCommands());

function partitionGauge(name: string, help: string, read: (p: { appended: number; applied: number }) => number): void {
  new Gauge({
    name,
    help,
    labelNames: ['partition'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of node?.partitions() ?? []) this.set({ partition: String(p.partition) }, read(p));
    },
  });
}

partitionGauge('endure_partition_appended_lsn', 'Last LSN appended to the partition log', (p) => p.appended);
partitionGauge('endure_partition_applied_lsn', 'Last LSN applied to the partition store and durable', (p) => p.applied);
partitionGauge('endure_partition_lag', 'Records appended to the partition log and not yet applied and durable', (p) => p.appended - p.applied);

new Gauge({
  name: 'endure_invocations_active',
  help: 'Invocations not yet completed, by status: scheduled, inboxed, invoked, suspended, paused',
  labelNames: ['status'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (!node) return;
    for (const [status, count] of Object.entries(await node.activeInvocations())) this.set({ status }, count);
  },
});

/** Lets the metrics read a node's gauges at scrape time; the returned function detaches it. */
export function observeNode(gauges: NodeGauges): () => void {
  node = gauges;
  return () => {
    if (node === gauges) node = undefined;
  };
}

/** The label used for a service or handler the schema registry does not know. */
export const UNKNOWN_TARGET = 'unknown';

/** Records one answered ingress request. `startedAt` is from `performance.now()`. */
export function recordIngressRequest(service: string, handler: string, status: number, startedAt: number): void {
  const labels: LabelValues<'service' | 'handler' | 'status'> = { service, handler, status };
  ingressRequests.inc(labels);
  ingressDuration.observe(labels, (performance.now() - startedAt) / 1000);
}

/** How an invocation ended, as counted by `endure_invocations_total`. */
export type InvocationOutcome = 'completed' | 'failed' | 'killed' | 'paused';

/** Counts an invocation reaching an outcome. */
export function recordInvocation(status: InvocationOutcome): void {
  invocations.inc({ status });
}

/** Counts one attempt and its duration. `startedAt` is from `performance.now()`. */
export function recordAttempt(outcome: string, startedAt: number): void {
  attempts.inc({ outcome });
  attemptDuration.observe({ outcome }, (performance.now() - startedAt) / 1000);
}

/** Counts a failed attempt scheduled for a retry. */
export function recordRetry(): void {
  retries.inc();
}

const appendsByKind = new Map<string, Counter.Internal>();

/** Counts one command appended to a partition log. */
export function recordAppend(kind: string): void {
  let child = appendsByKind.get(kind);
  if (!child) {
    child = appends.labels({ kind });
    appendsByKind.set(kind, child);
  }
  child.inc();
}

/** Records a committed batch: its size and the seconds until it was durable. */
export function recordCommit(commands: number, seconds: number): void {
  batchSize.observe(commands);
  commitDuration.observe(seconds);
}

/** Records how many milliseconds after its due time a timer fired. */
export function recordTimerFired(lateMs: number): void {
  timerLateness.observe(Math.max(0, lateMs) / 1000);
}

/** The metrics in Prometheus' text format, with the content type to answer with. */
export async function scrapeMetrics(): Promise<{ contentType: string; text: string }> {
  return { contentType: registry.contentType, text: await registry.metrics() };
}
