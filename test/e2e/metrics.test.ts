// Prometheus metrics at GET /metrics on the admin port: scraped from a real server while real
// SDK services do work, the counters and histograms must move with that work.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGET, eventually, get, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  if (TARGET !== "endure") return;
  suite = await startSuite({ env: { ENDURE_RETRY_INITIAL_INTERVAL: "20ms" } });
});

afterAll(async () => {
  await suite?.stop();
});

/** One sample: metric name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus' text exposition format (enough of it for the samples Endure writes). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const res = await get(`${suite.endure.adminUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(res.text);
}

/** Sum of the samples named `name` whose labels include `labels`. */
function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

describe.skipIf(TARGET !== "endure")("GET /metrics", () => {
  it("is served without credentials in Prometheus' text format with process metrics", async () => {
    const samples = await scrape();
    expect(sum(samples, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(sum(samples, "nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(samples.some((s) => s.name === "endure_partition_lag")).toBe(true);
  });

  it("counts ingress requests by service, handler and status, with latencies", async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i++) expect((await suite.call("/Echo/echo", i)).status).toBe(200);
    expect((await suite.call("/Failing/terminal", { code: 409, message: "no" })).status).toBe(409);
    expect((await suite.call("/NoSuchService/x", {})).status).toBe(404);
    const after = await scrape();

    const echo = { service: "Echo", handler: "echo", status: "200" };
    expect(sum(after, "endure_ingress_requests_total", echo) - sum(before, "endure_ingress_requests_total", echo)).toBe(3);
    expect(
      sum(after, "endure_ingress_request_duration_seconds_count", echo) -
        sum(before, "endure_ingress_request_duration_seconds_count", echo),
    ).toBe(3);
    expect(sum(after, "endure_ingress_request_duration_seconds_sum", echo)).toBeGreaterThan(
      sum(before, "endure_ingress_request_duration_seconds_sum", echo),
    );
    const failed = { service: "Failing", handler: "terminal", status: "409" };
    expect(sum(after, "endure_ingress_requests_total", failed) - sum(before, "endure_ingress_requests_total", failed)).toBe(1);
    // A name no registry knows never becomes a label: clients cannot grow the label set.
    const unknown = { service: "unknown", handler: "unknown", status: "404" };
    expect(sum(after, "endure_ingress_requests_total", unknown) - sum(before, "endure_ingress_requests_total", unknown)).toBe(1);
    expect(after.some((s) => s.labels.service === "NoSuchService")).toBe(false);

    expect(sum(after, "endure_invocations_total", { status: "completed" }) - sum(before, "endure_invocations_total", { status: "completed" })).toBe(3);
    expect(sum(after, "endure_invocations_total", { status: "failed" }) - sum(before, "endure_invocations_total", { status: "failed" })).toBe(1);
  });

  it("counts attempts, retries, log appends and commits as an invocation retries", async () => {
    const before = await scrape();
    const res = await suite.call("/Failing/flaky", { id: uid("flaky"), failures: 2 });
    expect(res.status, res.text).toBe(200);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) => sum(after, name, labels) - sum(before, name, labels);
    expect(delta("endure_invocation_retries_total")).toBe(2);
    expect(delta("endure_invocation_attempts_total", { outcome: "failed" })).toBe(2);
    expect(delta("endure_invocation_attempts_total", { outcome: "ended" })).toBe(1);
    // The invoke, then Output and End from the last attempt (plus the flaky step's records).
    expect(delta("endure_log_appends_total", { kind: "invoke" })).toBe(1);
    expect(delta("endure_log_appends_total", { kind: "journal-command" })).toBeGreaterThanOrEqual(1);
    expect(delta("endure_log_appends_total", { kind: "end" })).toBe(1);
    expect(delta("endure_log_batch_size_sum")).toBe(delta("endure_log_appends_total"));
    expect(delta("endure_log_commit_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(delta("endure_log_commit_duration_seconds_sum")).toBeGreaterThan(0);
  });

  it("shows a sleeping invocation as active with a pending timer, then the timer's lateness once it fires", async () => {
    const before = await scrape();
    const id = uid("sleep");
    const pending = fetch(`${suite.endure.ingressUrl}/Sleeper/sleep`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, ms: 1500 }),
    });
    const sleeping = await eventually(async () => {
      const samples = await scrape();
      return sum(samples, "endure_timers_pending") >= 1 ? samples : undefined;
    }, 10_000, "a pending timer");
    // Invoked while its stream is open, suspended once it lets go: active either way.
    const active = (samples: Sample[]) =>
      sum(samples, "endure_invocations_active", { status: "invoked" }) + sum(samples, "endure_invocations_active", { status: "suspended" });
    expect(active(sleeping)).toBe(1);
    expect((await pending).status).toBe(200);
    const after = await scrape();
    expect(active(after)).toBe(0);
    expect(after.filter((s) => s.name === "endure_invocations_active").map((s) => s.labels.status).sort()).toEqual(
      ["inboxed", "invoked", "paused", "scheduled", "suspended"],
    );
    expect(sum(after, "endure_timer_lateness_seconds_count") - sum(before, "endure_timer_lateness_seconds_count")).toBe(1);
    expect(sum(after, "endure_timers_pending")).toBe(0);
  });

  it("reports partition progress: appended and applied meet once the work is done", async () => {
    const samples = await scrape();
    const appended = sum(samples, "endure_partition_appended_lsn");
    expect(appended).toBeGreaterThan(0);
    expect(sum(samples, "endure_partition_applied_lsn")).toBe(appended);
    expect(sum(samples, "endure_partition_lag")).toBe(0);
    expect(sum(samples, "endure_invoker_connections")).toBe(0);
  });
});
