// kill -9 while a handler sleeps: after the restart the sleep completes, never before its
// deadline, and the steps around it run once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, sleep, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

async function attach(invocationId: string): Promise<{ status: number; json: unknown }> {
  const url = `${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await get(url);
    } catch (err) {
      if (attempt > 50) throw err;
      await sleep(100);
    }
  }
}

describe("crash during a sleep", () => {
  it("a 3-second sleep started before a kill -9 completes after the restart, not before its deadline", async () => {
    const id = uid("crash-sleep");
    const sentAt = Date.now();
    const sent = await suite.call("/Sleeper/sleep/send", { id, ms: 3000 });
    expect(sent.status).toBe(202);
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    const before = await eventually(async () => {
      return (await suite.effects(id)).find((e) => e.kind === "before");
    }, 10_000, "the step before the sleep");
    await sleep(500);
    await suite.endure.kill("SIGKILL");
    await suite.endure.restart();

    const res = await attach(invocationId);
    expect(res.status, suite.logs()).toBe(200);
    const effects = await suite.effects(id);
    const woke = effects.filter((e) => e.kind === "woke");
    expect(woke).toHaveLength(1);
    expect(effects.filter((e) => e.kind === "before")).toHaveLength(1);
    expect(woke[0]!.t).toBeGreaterThanOrEqual(before.t + 3000);
    expect(woke[0]!.t).toBeGreaterThanOrEqual(sentAt + 3000);
    expect(res.json).toEqual({ id, woke: woke[0]!.t });
  });

  it("a sleep whose deadline passed while the server was down fires after the restart", async () => {
    const id = uid("crash-sleep-late");
    const sent = await suite.call("/Sleeper/sleep/send", { id, ms: 1000 });
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    const before = await eventually(async () => {
      return (await suite.effects(id)).find((e) => e.kind === "before");
    }, 10_000, "the step before the sleep");
    await sleep(300);
    await suite.endure.kill("SIGKILL");
    await sleep(1200);
    expect(await suite.count("woke", id)).toBe(0);
    await suite.endure.restart();

    const res = await attach(invocationId);
    expect(res.status, suite.logs()).toBe(200);
    const woke = (await suite.effects(id)).filter((e) => e.kind === "woke");
    expect(woke).toHaveLength(1);
    expect(woke[0]!.t).toBeGreaterThanOrEqual(before.t + 1000);
  });
});
