// Retry policies from the manifest, next_retry_delay, pause on max attempts and resume, kill
// on max attempts, and non-deterministic replays (journal mismatch, code 570).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, sleep, startSuite, uid, type Suite } from "../../harness/index.ts";
import { admin, appendEffect, invocationIdOf, invocationStatus, waitForStatus } from "./helpers.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

const attach = (invocationId: string) => get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`);

async function attemptTimes(id: string): Promise<number[]> {
  return (await suite.effects(id)).filter((e) => e.kind === "attempt").map((e) => e.t);
}

describe("retry policies", () => {
  it("the manifest's retry policy is visible on the admin API, with Restate's defaults elsewhere", async () => {
    const flaky = (await admin(suite.endure.adminUrl, "GET", "/services/SemRetry/handlers/flaky")).json;
    expect(flaky).toMatchObject({
      retry_policy: { initial_interval: "100ms", exponentiation_factor: 2, max_attempts: 20, max_interval: "400ms", on_max_attempts: "Kill" },
    });
    const svc = (await admin(suite.endure.adminUrl, "GET", "/services/SemRetry")).json;
    expect(svc).toMatchObject({
      retry_policy: { initial_interval: "500ms", exponentiation_factor: 2, max_attempts: 70, max_interval: "1m", on_max_attempts: "Pause" },
    });
  });

  it("retries with initial interval, exponentiation factor and max interval", async () => {
    const id = uid("flaky");
    const res = await suite.call("/SemRetry/flaky", { id, failures: 4 });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toBe(5);
    const t = await attemptTimes(id);
    expect(t).toHaveLength(5);
    const gaps = t.slice(1).map((x, i) => x - t[i]!);
    // 100, 200, 400, 400 (capped) — never earlier; allow generous slack above.
    [100, 200, 400, 400].forEach((min, i) => {
      expect(gaps[i]!, `gaps ${gaps.join(",")}`).toBeGreaterThanOrEqual(min - 10);
      expect(gaps[i]!, `gaps ${gaps.join(",")}`).toBeLessThan(min + 1500);
    });
  });

  it("on max attempts kill: exactly max attempts, then the invocation fails", async () => {
    const id = uid("kill");
    const res = await suite.call("/SemRetry/killing", { id });
    expect(res.status, res.text).toBe(500);
    expect(res.text).toContain(`always failing ${id}`);
    expect(await suite.count("attempt", id)).toBe(2);
  });

  it("on max attempts pause: visible as paused, continues on resume", async () => {
    const id = uid("pause");
    const inv = invocationIdOf(await suite.call("/SemRetry/pausing/send", { id }));
    await waitForStatus(suite.endure.adminUrl, inv, "paused");
    expect(await suite.count("attempt", id)).toBe(3);
    await sleep(500);
    expect(await suite.count("attempt", id)).toBe(3);
    appendEffect(suite.effectsFile, "fix", id);
    const resumed = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/resume`);
    expect(resumed.status, resumed.text).toBe(200);
    const out = await attach(inv);
    expect(out.status, out.text).toBe(200);
    expect(out.json).toBe(`fixed:${id}`);
    expect(await suite.count("attempt", id)).toBe(4);
    expect(await invocationStatus(suite.endure.adminUrl, inv)).toBe("completed");
  });

  it("a paused invocation can be killed", async () => {
    const id = uid("pause");
    const inv = invocationIdOf(await suite.call("/SemRetry/pausing/send", { id }));
    await waitForStatus(suite.endure.adminUrl, inv, "paused");
    expect((await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/kill`)).status).toBe(200);
    expect((await attach(inv)).status).toBe(409);
  });

  it("next_retry_delay from the handler's error overrides the policy interval", async () => {
    const id = uid("after");
    const res = await suite.call("/SemRetry/retryAfter", { id });
    expect(res.json).toBe(2);
    const t = await attemptTimes(id);
    expect(t).toHaveLength(2);
    expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(790);
  });

  it("a run step's own retry interval is used for the step", async () => {
    const id = uid("run");
    const res = await suite.call("/SemRetry/runRetry", { id });
    expect(res.json).toBe(2);
    const t = await attemptTimes(id);
    expect(t).toHaveLength(2);
    expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(690);
  });
});

// With an inactivity timeout of zero the first execution suspends while its `ctx.run` result is
// stored, and its resumption is one more execution of the handler body (not a failed attempt):
// three failed attempts then show as four entries.
const expectedEntries = process.env.ENDURE_INACTIVITY_TIMEOUT === "0" ? 4 : 3;

describe("non-determinism", () => {
  it("a replay that diverges from the journal (570) is retried per policy and killed; nothing after the divergence takes effect", async () => {
    const id = uid("nondet");
    const res = await suite.call("/SemNondet/killed", { id });
    // The last failure is the journal mismatch: its code becomes the HTTP status.
    expect(res.status, res.text).toBe(570);
    expect(res.json).toMatchObject({ code: 570 });
    expect(await suite.count("enter", id)).toBe(expectedEntries);
    expect(await suite.count("after-divergence", id)).toBe(0);
    expect((await suite.call(`/Recorder/${id}/count`)).json).toBe(0);
  });

  it("with on max attempts pause it ends paused, and still nothing after the divergence took effect", async () => {
    const id = uid("nondet");
    const inv = invocationIdOf(await suite.call("/SemNondet/paused/send", { id }));
    await waitForStatus(suite.endure.adminUrl, inv, "paused");
    expect(await suite.count("enter", id)).toBe(expectedEntries);
    expect(await suite.count("after-divergence", id)).toBe(0);
    expect((await suite.call(`/Recorder/${id}/count`)).json).toBe(0);
    await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/kill`);
    await eventually(async () => ((await invocationStatus(suite.endure.adminUrl, inv)) === "completed" ? true : undefined));
  });
});
