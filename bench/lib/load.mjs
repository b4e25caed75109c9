// Closed-loop load: N clients, each sending its next request as soon as the previous one
// answered, for a fixed time; latencies kept in full and summarised by percentile.
import { performance } from "node:perf_hooks";

/** The q-quantile (0..1) of an ascending array; NaN when empty. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** Summary of latencies in ms: p50, p99, max, mean. */
export function summarise(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : Number.NaN;
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1] : Number.NaN, mean };
}

/**
 * Runs `clients` closed loops for `durationMs`; `send(client, seq)` performs one request and
 * throws on failure. Returns counts, throughput (successes per second) and latency summary.
 */
export async function closedLoop({ clients, durationMs, send }) {
  const latencies = [];
  let ok = 0;
  let errors = 0;
  let firstError;
  const start = performance.now();
  const end = start + durationMs;
  const loop = async (client) => {
    for (let seq = 0; performance.now() < end; seq++) {
      const t0 = performance.now();
      try {
        await send(client, seq);
        latencies.push(performance.now() - t0);
        ok++;
      } catch (err) {
        errors++;
        firstError ??= String(err?.message ?? err);
        if (errors > 1000 && ok === 0) throw new Error(`every request fails: ${firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  const elapsedS = (performance.now() - start) / 1000;
  return { ok, errors, firstError, elapsedS, throughput: ok / elapsedS, latencyMs: summarise(latencies) };
}

/** Runs `tasks` (functions returning promises) with at most `limit` in flight; keeps order. */
export async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
