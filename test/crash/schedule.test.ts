// A schedule firing every second through a kill -9 and a restart: one invocation per tick, no
// tick missed (catch-up `all`), none doubled. Also the admin API's answers to bad definitions,
// and a schedule declared in handler metadata.
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
  uid,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";

let endure: EndureProcess;
let services: ServicesProcess;
let scratch: string;
let effectsFile: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "endure-schedules-"));
  effectsFile = path.join(scratch, "effects.jsonl");
  services = await startServices("test/services/schedules-main.ts", { EFFECTS_FILE: effectsFile });
  endure = await startEndure();
  await register(endure.adminUrl, services.url);
});

afterAll(async () => {
  await Promise.allSettled([endure?.stop(), services?.stop()]);
  await killAllStarted();
  await rm(scratch, { recursive: true, force: true });
});

const admin = (p: string, method: string, body?: unknown) =>
  call(endure.adminUrl, p, body, {}, { method });

/** Runs `endure <args>` against this server; resolves with exit code and output. */
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

describe("schedules", () => {
  it("a bad cron expression, time zone or target is refused with a 400 that names the field", async () => {
    const target = { service: "Ticker", handler: "tick" };
    const badCron = await admin("/schedules/bad", "PUT", { target, cron: "61 * * * *" });
    expect(badCron.status).toBe(400);
    expect(JSON.stringify(badCron.json)).toContain("'cron'");
    const badZone = await admin("/schedules/bad", "PUT", { target, cron: "* * * * *", timezone: "Mars/Olympus" });
    expect(badZone.status).toBe(400);
    expect(JSON.stringify(badZone.json)).toContain("'timezone'");
    const unknown = await admin("/schedules/bad", "PUT", { target: { service: "Nope", handler: "x" }, cron: "* * * * *" });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json)).toContain("service 'Nope' not found");
    expect((await get(`${endure.adminUrl}/schedules/bad`)).status).toBe(404);
  });

  it("a schedule declared in handler metadata exists once the deployment is registered", async () => {
    const res = await get(`${endure.adminUrl}/schedules/Ticker.declared`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: "Ticker.declared", cron: "*/2 * * * * *", declared: true, catch_up: "none" });
    await eventually(async () => ((await readEffects(effectsFile, "declared")).length >= 1 ? true : undefined), 10_000, "a declared tick");
  });

  it("every tick of a one-second schedule runs exactly once across a kill -9 and a restart; catch-up decides the downtime's ticks", async () => {
    // Two schedules through the same crash: catch-up `all` runs every tick of the 7 s downtime,
    // catch-up `none` only those at most 5 s late and counts the others as missed.
    const all = uid("every-second-all");
    const none = uid("every-second-none");
    const define = (id: string, catchUp: string) =>
      admin(`/schedules/${id}`, "PUT", {
        target: { service: "Ticker", handler: "tick" },
        cron: "* * * * * *",
        catch_up: catchUp,
        catch_up_limit: 100,
        overlap: "allow-all",
        input: { id },
      });
    const createdAt = Date.now();
    for (const [id, policy] of [[all, "all"], [none, "none"]] as const) {
      const created = await define(id, policy);
      expect(created.status, JSON.stringify(created.json)).toBe(201);
    }
    await sleep(5_000);
    await endure.kill("SIGKILL");
    const downAt = Date.now();
    await sleep(7_000);
    await endure.restart();
    await sleep(5_000);
    for (const id of [all, none]) expect((await admin(`/schedules/${id}/pause`, "PATCH")).status).toBe(200);
    const pausedAt = Date.now();
    await sleep(2_000);

    /** The ticks a schedule ran, each checked to have one invocation and one side effect. */
    const ran = async (id: string): Promise<number[]> => {
      const byTick = new Map<string, { invs: Set<string>; count: number }>();
      for (const e of await readEffects(effectsFile, id)) {
        const entry = byTick.get(e.tick as string) ?? { invs: new Set(), count: 0 };
        entry.invs.add(e.inv as string);
        entry.count += 1;
        byTick.set(e.tick as string, entry);
      }
      for (const [tick, { invs, count }] of byTick) {
        expect(invs.size, `invocations of ${id} tick ${tick}`).toBe(1);
        expect(count, `runs of ${id} tick ${tick}`).toBe(1);
      }
      return [...byTick.keys()].map((t) => Date.parse(t)).sort((a, b) => a - b);
    };
    const view = async (id: string) => (await get(`${endure.adminUrl}/schedules/${id}`)).json as { started: number; missed: number; skipped: number; paused: boolean };

    const ticksAll = await ran(all);
    // From the first tick after creation to the last before the pause, every second once.
    expect(ticksAll[0]!).toBeLessThanOrEqual(createdAt + 1_000);
    expect(ticksAll.at(-1)!).toBeGreaterThan(pausedAt - 2_000);
    expect(ticksAll.at(-1)!).toBeLessThanOrEqual(pausedAt);
    for (let i = 1; i < ticksAll.length; i++) expect(ticksAll[i]! - ticksAll[i - 1]!, `tick after ${new Date(ticksAll[i - 1]!).toISOString()}`).toBe(1000);
    expect(ticksAll.filter((t) => t > downAt && t < downAt + 6_000).length, "ticks of the downtime were caught up").toBeGreaterThanOrEqual(5);
    expect(await view(all)).toMatchObject({ paused: true, started: ticksAll.length, missed: 0, skipped: 0 });

    const ticksNone = await ran(none);
    const nv = await view(none);
    expect(nv.started).toBe(ticksNone.length);
    expect(nv.missed, "ticks more than 5 s late were dropped").toBeGreaterThanOrEqual(1);
    // Every tick of the span either ran once or was counted as missed.
    expect(nv.started + nv.missed).toBe((ticksNone.at(-1)! - ticksNone[0]!) / 1000 + 1);
    const gaps = ticksNone.slice(1).filter((t, i) => t - ticksNone[i]! > 1000);
    expect(gaps.length, "one gap: the downtime's oldest ticks").toBe(1);
  });

  it("trigger runs a tick now and backfill runs each tick of a range once, however often asked", async () => {
    const id = uid("backfill");
    const created = await admin(`/schedules/${id}`, "PUT", {
      target: { service: "Ticker", handler: "tick" },
      every: "1h",
      input: { id },
    });
    expect(created.status).toBe(201);
    await admin(`/schedules/${id}/pause`, "PATCH");
    const from = "2026-01-01T00:00:00.000Z";
    const to = "2026-01-01T03:30:00.000Z";
    const first = await admin(`/schedules/${id}/backfill`, "PATCH", { from, to });
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const again = await admin(`/schedules/${id}/backfill`, "PATCH", { from, to });
    expect(again.status).toBe(200);
    const triggered = await admin(`/schedules/${id}/trigger`, "PATCH");
    expect(triggered.status).toBe(200);
    const backfilled = (first.json as { ticks: string[] }).ticks;
    expect(backfilled.length).toBeGreaterThanOrEqual(3);
    await eventually(async () => ((await readEffects(effectsFile, id)).length >= backfilled.length + 1 ? true : undefined), 10_000, "backfilled ticks");
    await sleep(500);
    const effects = await readEffects(effectsFile, id);
    expect(effects).toHaveLength(backfilled.length + 1);
    expect(new Set(effects.map((e) => e.tick)).size).toBe(backfilled.length + 1);

    expect((await admin(`/schedules/${id}`, "DELETE")).status).toBe(202);
    expect((await get(`${endure.adminUrl}/schedules/${id}`)).status).toBe(404);
  });

  it("endure schedules creates, lists, pauses, triggers and deletes, and reports a bad cron", async () => {
    const id = uid("cli");
    const created = await cli("schedules", "create", id, "Ticker/tick", "--every", "1h", "--overlap", "allow-all", "--input", JSON.stringify({ id }));
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(id);
    const listed = await cli("schedules", "list");
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+Ticker/tick\\s+every 3600s`));
    expect((await cli("schedules", "pause", id)).stdout).toMatch(/PAUSED[\s\S]*yes/);
    expect((await cli("schedules", "trigger", id)).code).toBe(0);
    await eventually(async () => ((await readEffects(effectsFile, id)).length === 1 ? true : undefined), 10_000, "the triggered tick");
    const bad = await cli("schedules", "create", `${id}-bad`, "Ticker/tick", "--cron", "every minute");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/failed with 400: The request field 'cron' is invalid/);
    expect((await cli("schedules", "delete", id)).code).toBe(0);
    expect((await get(`${endure.adminUrl}/schedules/${id}`)).status).toBe(404);
  });

  it("an object key and a workflow id template receive their ticks", async () => {
    const key = uid("tally");
    const obj = await admin(`/schedules/${key}`, "PUT", { target: { service: "Tally", handler: "add", key: "{schedule}" }, cron: "0 * * * *" });
    expect(obj.status, JSON.stringify(obj.json)).toBe(201);
    const wf = await admin(`/schedules/${key}-wf`, "PUT", { target: { service: "Report", handler: "run", key: "{schedule}-{tick_ms}" }, cron: "0 * * * *" });
    expect(wf.status, JSON.stringify(wf.json)).toBe(201);
    const fixed = await admin(`/schedules/${key}-fixed`, "PUT", { target: { service: "Report", handler: "run", key: "monthly" }, every: "1h" });
    expect(fixed.status).toBe(400);
    const range = { from: "2026-01-01T00:00:00Z", to: "2026-01-01T01:00:00Z" };
    expect((await admin(`/schedules/${key}/backfill`, "PATCH", range)).status).toBe(200);
    expect((await admin(`/schedules/${key}-wf/backfill`, "PATCH", range)).status).toBe(200);

    const tallies = await eventually(async () => {
      const e = await readEffects(effectsFile, key);
      return e.length >= 2 ? e : undefined;
    }, 10_000, "the object's ticks");
    expect(tallies.map((e) => e.n).sort()).toEqual([1, 2]);
    const reports = await eventually(async () => {
      const e = (await readEffects(effectsFile, "report")).filter((x) => String(x.key).startsWith(`${key}-wf-`));
      return e.length >= 2 ? e : undefined;
    }, 10_000, "the workflow runs");
    const start = Date.parse(range.from);
    expect(reports.map((e) => e.key).sort()).toEqual([`${key}-wf-${start}`, `${key}-wf-${start + 3_600_000}`]);
    await admin(`/schedules/${key}`, "DELETE");
    await admin(`/schedules/${key}-wf`, "DELETE");
  });

  it("a new version of the code that declares a bad schedule is refused; one that declares none removes it", async () => {
    const bad = await startServices("test/services/schedules-main.ts", { EFFECTS_FILE: effectsFile, SCHEDULES_VARIANT: "bad" });
    const refused = await admin("/deployments", "POST", { uri: bad.url });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toContain("'cron'");
    expect((await get(`${endure.adminUrl}/schedules/Ticker.declared`)).status).toBe(200);
    await bad.stop();

    const none = await startServices("test/services/schedules-main.ts", { EFFECTS_FILE: effectsFile, SCHEDULES_VARIANT: "none" });
    const kept = await admin("/schedules", "POST", { id: "kept-by-api", target: { service: "Ticker", handler: "tick" }, every: "1h", input: { id: "kept" } });
    expect(kept.status, JSON.stringify(kept.json)).toBe(201);
    const registered = await admin("/deployments", "POST", { uri: none.url });
    expect(registered.status, JSON.stringify(registered.json)).toBe(201);
    expect((await get(`${endure.adminUrl}/schedules/Ticker.declared`)).status).toBe(404);
    expect((await get(`${endure.adminUrl}/schedules/kept-by-api`)).status).toBe(200);
    await none.stop();
  });
});
