// The native `endure` CLI's inspection commands against a real Endure process: sql in its
// three formats, invocations list/describe with filters, bulk operations with confirmation,
// and state get.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  call,
  eventually,
  killAllStarted,
  register,
  startEndure,
  startServices,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";

let endure: EndureProcess;
let services: ServicesProcess;
const ids = { sleeperA: "", sleeperB: "", counter: "", flaky: "" };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function endureCli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "endure.js"), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ENDURE_ADMIN_URL: endure.adminUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await endureCli(...args);
  expect(r.code, `endure ${args.join(" ")}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Asks /query directly (not through the CLI under test) for what the store holds. */
async function query(sql: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${endure.adminUrl}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query: sql }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
}

async function statusOf(id: string): Promise<string | undefined> {
  return (await query(`select status from sys_invocation where id = '${id}'`))[0]?.status as string | undefined;
}

beforeAll(async () => {
  services = await startServices("test/services/cli.ts");
  endure = await startEndure();
  await register(endure.adminUrl, services.url);
  const add = await call(endure.ingressUrl, "/Counter/k1/add", 5);
  expect(add.text).toBe("5");
  const send = async (p: string, body: unknown) => ((await call(endure.ingressUrl, p, body)).json as { invocationId: string }).invocationId;
  ids.sleeperA = await send("/Sleeper/nap/send", 3600);
  ids.sleeperB = await send("/Sleeper/nap/send", 3600);
  ids.counter = (await query("select id from sys_invocation where target = 'Counter/k1/add'"))[0]!.id as string;
  await eventually(async () => ((await query("select id from sys_journal where entry_type = 'Sleep'")).length === 2 ? true : undefined));
}, 90_000);

afterAll(async () => {
  await endure?.stop();
  await services?.stop();
  await killAllStarted();
});

describe("endure sql, invocations and state", () => {
  it("sql prints a table, JSON with NULLs kept, and CSV", async () => {
    const table = await ok("sql", "select id, target, status from sys_invocation order by created_at");
    expect(table).toMatch(/^ID\s+TARGET\s+STATUS/);
    expect(table).toContain(`${ids.counter}  Counter/k1/add  completed`);
    expect(table).toContain("3 rows");
    const json = JSON.parse(await ok("sql", "--format", "json", "select id, trace_id from sys_invocation order by created_at limit 1")) as unknown;
    expect(json).toEqual([{ id: ids.counter, trace_id: null }]);
    const csv = await ok("sql", "--format", "csv", "select 'a,b' as x, 1 as n");
    expect(csv).toBe('x,n\n"a,b",1\n');
    const bad = await endureCli("sql", "select * from nope");
    expect(bad.code).toBe(1);
    // The database's own message: SQLite's, or PostgreSQL's (E2E_STORE=postgres).
    expect(bad.stderr).toMatch(/400: Query error: (no such table: nope|relation "nope" does not exist)/);
  });

  it("invocations list filters by service, status, key and age", async () => {
    const active = await ok("invocations", "list");
    expect(active).toContain(ids.sleeperA);
    expect(active).not.toContain(ids.counter);
    const counter = await ok("invocations", "list", "--all", "--service", "Counter", "--key", "k1");
    expect(counter).toContain(ids.counter);
    expect(counter).not.toContain(ids.sleeperA);
    const completed = JSON.parse(await ok("invocations", "list", "--status", "completed", "--json")) as { id: string }[];
    expect(completed.map((r) => r.id)).toEqual([ids.counter]);
    expect(await ok("invocations", "list", "--older-than", "1h")).not.toContain("inv_");
    const bad = await endureCli("invocations", "list", "--older-than", "soon");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid duration");
  });

  it("invocations describe shows the journal and what the invocation waits on", async () => {
    const text = await ok("invocations", "describe", ids.sleeperA);
    expect(text).toMatch(/Target:\s+Sleeper\/nap/);
    expect(text).toMatch(/#1 Sleep until \S+ \[waiting\]/);
    expect(text).toMatch(/Why it waits: #1 Sleep until/);
    const unknown = await endureCli("invocations", "describe", "inv_1aPQLNoxS2gU5MThwVKpDcvQeaBQymrGK5");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("not found");
  });

  it("invocations describe shows why a failing invocation is stuck: its last failure and retries", async () => {
    ids.flaky = ((await call(endure.ingressUrl, "/Flaky/fail/send", undefined)).json as { invocationId: string }).invocationId;
    const stuck = await eventually(async () => {
      const r = (await query(`select status, retry_count, last_failure from sys_invocation where id = '${ids.flaky}'`))[0];
      return r !== undefined && typeof r.retry_count === "number" && r.retry_count >= 1 ? r : undefined;
    });
    expect(String(stuck.last_failure)).toContain("database unreachable");
    expect(["running", "backing-off"]).toContain(stuck.status);
    const text = await ok("invocations", "describe", ids.flaky);
    expect(text).toMatch(/Failure:\s+.*database unreachable/);
    expect(text).toMatch(/Why it waits: attempt \d+ failed: .*database unreachable/);
    expect(await ok("invocations", "kill", ids.flaky, "--yes")).toContain("Killed 1 invocation(s)");
  });

  it("state get shows a key's state", async () => {
    expect(await ok("state", "get", "Counter", "k1")).toMatch(/count\s+5/);
    expect(JSON.parse(await ok("state", "get", "Counter", "k1", "--json"))).toEqual({ count: "5" });
  });

  it("bulk operations ask for confirmation, then act on every match", async () => {
    const refused = await endureCli("invocations", "pause", "Sleeper/nap");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("pass --yes");
    expect(await statusOf(ids.sleeperA)).not.toBe("paused");

    expect(await ok("invocations", "pause", "Sleeper", "--yes")).toContain("Paused 2 invocation(s)");
    await eventually(async () => ((await statusOf(ids.sleeperB)) === "paused" ? true : undefined));
    expect(await ok("invocations", "resume", ids.sleeperA, "--yes")).toContain("Resumed 1 invocation(s)");
    await eventually(async () => ((await statusOf(ids.sleeperA)) !== "paused" ? true : undefined));
    expect(await ok("invocations", "kill", "Sleeper/nap", "--yes")).toContain("Killed 2 invocation(s)");
    await eventually(async () => ((await statusOf(ids.sleeperA)) === "completed" && (await statusOf(ids.sleeperB)) === "completed" ? true : undefined));

    const restarted = await ok("invocations", "restart", ids.counter, "--yes");
    expect(restarted).toContain("Restarted 1 invocation(s)");
    expect(restarted).toMatch(new RegExp(`${ids.counter} -> inv_`));
    expect(await ok("invocations", "purge", "Sleeper", "--yes")).toContain("Purged 2 invocation(s)");
    await eventually(async () => ((await statusOf(ids.sleeperA)) === undefined ? true : undefined));
    const none = await endureCli("invocations", "cancel", "Sleeper", "--yes");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no invocation matches");
  });
});
