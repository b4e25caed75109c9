// Flow control end to end: a real Endure process, the official SDK in its own process. The
// handlers record what they see (test/services/flow-main.ts); the limits are checked from there.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  call,
  eventually,
  get,
  killAllStarted,
  readEffects,
  register,
  sleep,
  startEndure,
  startServices,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";

let endure: EndureProcess;
let services: ServicesProcess;
let scratch: string;
let effectsFile: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "endure-flow-"));
  effectsFile = path.join(scratch, "effects.jsonl");
  services = await startServices("test/services/flow-main.ts", { EFFECTS_FILE: effectsFile });
  endure = await startEndure();
  await register(endure.adminUrl, services.url);
  await setRule("Gate/hold", { concurrency: 3 });
  await setRule("Gate/tick", { rate: { count: 5, interval: "1s", burst: 1 } });
  await setRule("Gate/settle", { debounce: "1s" });
});

afterAll(async () => {
  await Promise.allSettled([endure?.stop(), services?.stop()]);
  await killAllStarted();
  await rm(scratch, { recursive: true, force: true });
});

async function setRule(id: string, body: unknown): Promise<void> {
  const res = await call(endure.adminUrl, `/flow-rules/${encodeURIComponent(id)}`, body, {}, { method: "PUT" });
  expect(res.status, res.text).toBeLessThan(300);
}

/** Runs `endure <args>` against this server. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, "bin/endure.js"), ...args, "--admin-url", endure.adminUrl],
      { timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

type LimiterView = { limit_key: string; running: string[]; waiting: { id: string; priority: number }[]; debounced: string | null; tokens: number };

/** The live limiter of Gate/hold for a limit key, or undefined once it is idle. */
async function limiter(key: string): Promise<LimiterView | undefined> {
  const rule = (await get(`${endure.adminUrl}/flow-rules/Gate/hold`)).json as { limiters: LimiterView[] };
  return rule.limiters.find((l) => l.limit_key === key);
}

async function send(handler: string, input: unknown, headers: Record<string, string> = {}): Promise<void> {
  const res = await call(endure.ingressUrl, `/Gate/${handler}/send`, input, headers);
  expect(res.status, res.text).toBe(202);
}

async function effects(kind: string, id: string, count: number, timeoutMs: number) {
  return eventually(
    async () => {
      const all = (await readEffects(effectsFile, id)).filter((e) => e.kind === kind);
      return all.length >= count ? all : undefined;
    },
    timeoutMs,
    `${count} ${kind} effects of ${id}`,
  );
}

describe("flow control", () => {
  it("a concurrency limit of 3 under 100 sends never runs more than 3 at once and completes all 100", async () => {
    await Promise.all(Array.from({ length: 100 }, () => send("hold", { id: "c100", ms: 40 })));
    const entered = await effects("enter", "c100", 100, 60_000);
    const peak = Math.max(...entered.map((e) => e.concurrent as number));
    expect(peak).toBe(3);
    await sleep(300);
    expect((await readEffects(effectsFile, "c100")).length).toBe(100);
  });

  it("a rate limit of 5 per second (burst 1) spreads 30 sends over at least 5.8 s", async () => {
    const started = Date.now();
    await Promise.all(Array.from({ length: 30 }, (_, n) => send("tick", { id: "r30", n })));
    const ticks = await effects("tick", "r30", 30, 30_000);
    const times = ticks.map((e) => e.t).sort((a, b) => a - b);
    // 29 tokens at 5 per second after the first start: 5.8 s, less scheduling jitter.
    expect(times[29]! - times[0]!).toBeGreaterThanOrEqual(5_600);
    // No second ever saw more than the rate (plus one of jitter at a window's edge).
    for (let i = 0; i + 6 < times.length; i++) expect(times[i + 6]! - times[i]!).toBeGreaterThan(1_000);
    expect(times[0]! - started).toBeLessThan(5_000);
  });

  it("waiting invocations of higher priority start first", async () => {
    const key = { "x-endure-limit-key": "prio" };
    // Three holds take the key's three permits; then low and high priority ones queue.
    for (let i = 0; i < 3; i++) await send("hold", { id: "prio", ms: 1_500, n: 0 }, key);
    await effects("enter", "prio", 3, 10_000);
    for (let n = 1; n <= 4; n++) await send("hold", { id: "prio", ms: 150, n }, { ...key, "x-endure-priority": "0" });
    for (let n = 11; n <= 14; n++) await send("hold", { id: "prio", ms: 150, n }, { ...key, "x-endure-priority": "10" });
    const entered = await effects("enter", "prio", 11, 20_000);
    const order = entered.sort((a, b) => a.t - b.t).map((e) => e.n as number).filter((n) => n > 0);
    expect(order.slice(0, 4).sort()).toEqual([11, 12, 13, 14]);
    expect(order.slice(4).sort()).toEqual([1, 2, 3, 4]);
    expect(Math.max(...entered.map((e) => e.concurrent as number))).toBe(3);
  });

  it("killing and cancelling waiting invocations frees nothing they did not hold", async () => {
    const key = { "x-endure-limit-key": "kill" };
    for (let i = 0; i < 3; i++) await send("hold", { id: "kill", ms: 1_200, n: 0 }, key);
    await effects("enter", "kill", 3, 10_000);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await call(endure.ingressUrl, "/Gate/hold/send", { id: "kill", ms: 10, n }, key);
      ids.push((res.json as { invocationId: string }).invocationId);
    }
    expect((await call(endure.adminUrl, `/invocations/${ids[0]}/kill`, undefined, {}, { method: "PATCH" })).status).toBeLessThan(300);
    expect((await call(endure.adminUrl, `/invocations/${ids[1]}/cancel`, undefined, {}, { method: "PATCH" })).status).toBeLessThan(300);
    // No permit came free: the three holds still run, so the last waiter has not started.
    const rule = (await get(`${endure.adminUrl}/flow-rules/${encodeURIComponent("Gate/hold")}`)).json as {
      limiters: { limit_key: string; running: string[]; waiting: { id: string }[] }[];
    };
    const limiter = rule.limiters.find((l) => l.limit_key === "kill")!;
    expect(limiter.running).toHaveLength(3);
    expect(limiter.waiting.map((w) => w.id)).toEqual([ids[2]]);
    const entered = await effects("enter", "kill", 4, 10_000);
    await sleep(300);
    expect(entered.map((e) => e.n).sort()).toEqual([0, 0, 0, 3]);
    expect((await readEffects(effectsFile, "kill")).length).toBe(4);
  });

  it("sends made by a handler are limited too, per the limit key they carry", async () => {
    await send("fanout", { id: "fan", count: 12, key: "from-handler" });
    await effects("enter", "fan", 3, 10_000);
    // The limiter of the key the sends carried holds the three permits.
    const rule = (await get(`${endure.adminUrl}/flow-rules/${encodeURIComponent("Gate/hold")}`)).json as {
      limiters: { limit_key: string; running: string[] }[];
    };
    expect(rule.limiters.find((l) => l.limit_key === "from-handler")?.running).toHaveLength(3);
    const entered = await effects("enter", "fan", 12, 30_000);
    expect(Math.max(...entered.map((e) => e.concurrent as number))).toBe(3);
  });

  it("of the sends with one limit key within the debounce window only the last runs", async () => {
    for (let n = 1; n <= 5; n++) await send("settle", { id: "deb", n }, { "x-endure-limit-key": "a" });
    for (let n = 1; n <= 2; n++) await send("settle", { id: "deb", n: 100 + n }, { "x-endure-limit-key": "b" });
    const settled = await effects("settle", "deb", 2, 10_000);
    await sleep(1_500);
    const all = (await readEffects(effectsFile, "deb")).filter((e) => e.kind === "settle");
    expect(all.map((e) => e.n).sort()).toEqual([102, 5]);
    expect(settled.length).toBe(2);
  });

  it("bad rules get a 400 naming the field and change nothing; the CLI sets, lists and deletes rules", async () => {
    const bad = await call(endure.adminUrl, "/flow-rules/Gate%2Fhold", { concurrency: 0 }, {}, { method: "PUT" });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("'concurrency'");
    const unknown = await call(endure.adminUrl, "/flow-rules/Gate%2Fhold", { concurency: 2 }, {}, { method: "PUT" });
    expect(unknown.status).toBe(400);
    expect((await get(`${endure.adminUrl}/flow-rules/Gate%2Fhold`)).json).toMatchObject({ concurrency: 3 });
    expect((await get(`${endure.adminUrl}/flow-rules/Gate/hold`)).json).toMatchObject({ id: "Gate/hold", concurrency: 3 });
    expect((await get(`${endure.adminUrl}/flow-rules/Nope`)).status).toBe(404);
    const badPriority = await call(endure.ingressUrl, "/Gate/hold/send", { id: "bad", ms: 1 }, { "x-endure-priority": "urgent" });
    expect(badPriority.status).toBe(400);
    expect(badPriority.text).toContain("x-endure-priority");
    const longKey = await call(endure.ingressUrl, "/Gate/hold/send", { id: "bad", ms: 1 }, { "x-endure-limit-key": "k".repeat(257) });
    expect(longKey.status).toBe(400);

    const set = await cli("flow-rules", "set", "Gate", "--rate", "100", "--interval", "1s", "--burst", "5");
    expect(set.code, set.stderr).toBe(0);
    const listed = await cli("flow-rules", "list");
    expect(listed.stdout).toMatch(/Gate\s+-\s+100 per 1000 ms\s+5/);
    expect(listed.stdout).toContain("Gate/hold");
    expect((await cli("flow-rules", "delete", "Gate")).code).toBe(0);
    expect((await cli("flow-rules", "describe", "Gate")).code).not.toBe(0);
  });

  it("rules, permits and queues survive a kill -9 and restart", async () => {
    const key = { "x-endure-limit-key": "restart" };
    for (let i = 0; i < 3; i++) await send("hold", { id: "rs", ms: 4_000, n: 0 }, key);
    await effects("enter", "rs", 3, 10_000);
    for (let n = 1; n <= 5; n++) await send("hold", { id: "rs", ms: 10, n }, key);
    const before = await limiter("restart");
    expect(before?.running).toHaveLength(3);
    expect(before?.waiting).toHaveLength(5);
    await endure.kill();
    await endure.restart();
    // The same three hold the permits, the same five wait in the same order.
    expect(await limiter("restart")).toEqual(before);
    const entered = await eventually(
      async () => {
        const ns = new Set((await readEffects(effectsFile, "rs")).map((e) => e.n as number));
        return [1, 2, 3, 4, 5].every((n) => ns.has(n)) ? ns : undefined;
      },
      30_000,
      "the five waiting holds after the restart",
    );
    expect([...entered].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    await eventually(async () => ((await limiter("restart")) === undefined ? true : undefined), 10_000, "the limiter to empty");
    expect((await get(`${endure.adminUrl}/flow-rules/Gate%2Fhold`)).json).toMatchObject({ id: "Gate/hold", concurrency: 3 });
  });
});
