// The official `restate` CLI (npm @restatedev/restate 1.7) against a real Endure process:
// what a Restate user types works, and prints what Endure holds. The CLI, Endure and the
// services run in a network namespace of their own (only loopback), so the CLI cannot reach
// the internet; the test drives them through test/harness/netns-runner.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../harness/index.ts";
import { canUnshareNetwork, startCliNamespace, type CliNamespace, type CliRun } from "../harness/netns.ts";

const available = canUnshareNetwork();

let ns: CliNamespace;
let deploymentId = "";
const ids = { sleeperA: "", sleeperB: "", greet: "" };

function out(r: CliRun): string {
  return r.stdout + r.stderr;
}

async function ok(...args: string[]): Promise<string> {
  const r = await ns.restate(...args);
  expect(r.code, `restate ${args.join(" ")}\n${out(r)}`).toBe(0);
  return out(r);
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const r = await ns.http("POST", `${ns.adminUrl}/query`, { query: sql }, { accept: "application/json" });
  expect(r.status, r.text).toBe(200);
  return (JSON.parse(r.text) as { rows: Record<string, unknown>[] }).rows;
}

async function send(path: string, body: unknown): Promise<string> {
  const r = await ns.http("POST", `${ns.ingressUrl}${path}`, JSON.stringify(body));
  expect(r.status, r.text).toBe(202);
  return (JSON.parse(r.text) as { invocationId: string }).invocationId;
}

beforeAll(async () => {
  if (available) ns = await startCliNamespace();
}, 90_000);

afterAll(async () => {
  await ns?.stop();
});

describe.skipIf(!available)("the official restate CLI against Endure", () => {
  it("whoami finds a healthy admin API and the advertised ingress", async () => {
    const text = await ok("whoami");
    expect(text).toContain("is healthy!");
    expect(text).toContain(ns.ingressUrl);
  });

  it("deployments register discovers the services and prints a Restate-shaped id", async () => {
    const text = await ok("deployments", "register", ns.servicesUrl, "--yes");
    const match = /Deployment ID:\s+(dp_1[0-9a-zA-Z]{22})/.exec(text);
    expect(match, text).not.toBeNull();
    deploymentId = match![1]!;
    for (const s of ["Counter", "Greeter", "Sleeper"]) expect(text).toContain(s);
  });

  it("deployments list and describe show the deployment and its services", async () => {
    const list = await ok("deployments", "list");
    expect(list).toContain(deploymentId);
    expect(list).toMatch(/Counter \[1\]/);
    const describe = await ok("deployments", "describe", deploymentId);
    expect(describe).toContain(`ID:              ${deploymentId}`);
    expect(describe).toMatch(/Sleeper[\s\S]*nap/);
    const unknown = await ns.restate("deployments", "describe", "dp_11lTZoV3qOSWlOJF20thAAA");
    expect(unknown.code).toBe(1);
    expect(out(unknown)).toContain("does not exist");
    const malformed = await ns.restate("deployments", "describe", "dp_bad");
    expect(malformed.code).toBe(1);
    expect(out(malformed)).toContain("Invalid deployment id");
  });

  it("services list and describe show types, handlers and the deployment", async () => {
    const list = await ok("services", "list");
    expect(list).toMatch(/Counter\s+1\s+virtual object\s+HTTP\s+dp_/);
    expect(list).toContain("Greeter");
    const describe = await ok("services", "describe", "Counter");
    expect(describe).toMatch(/Service type:\s+VirtualObject/);
    expect(describe).toMatch(/add\s+application\/json/);
    const unknown = await ns.restate("services", "describe", "Nope");
    expect(unknown.code).toBe(1);
    expect(out(unknown)).toContain("The requested service 'Nope' does not exist");
  });

  it("invocations list and describe show what runs, and where it waits", async () => {
    const add = await ns.http("POST", `${ns.ingressUrl}/Counter/k1/add`, 5);
    expect(add.text).toBe("5");
    ids.greet = await send("/Greeter/greet/send", "Ada");
    ids.sleeperA = await send("/Sleeper/nap/send", 3600);
    ids.sleeperB = await send("/Sleeper/nap/send", 3600);
    // Wait until the sleep is journaled.
    await eventually(async () => ((await query(`select 1 from sys_journal where id = '${ids.sleeperA}' and entry_type = 'Sleep'`)).length > 0 ? true : undefined));

    const list = await ok("invocations", "list");
    expect(list).toContain(ids.sleeperA);
    expect(list).toContain(ids.sleeperB);
    expect(list).toMatch(/Target:\s+Sleeper\/nap/);
    expect(list).toMatch(/Showing 2\/2 invocations/);
    const all = await ok("invocations", "list", "--all");
    expect(all).toMatch(/Counter\/k1\/add\s+Status:\s+completed with success/);
    const vo = await ok("invocations", "list", "--all", "--virtual-objects-only");
    expect(vo).toContain("Counter/k1/add");
    expect(vo).not.toContain("Sleeper/nap");

    const describe = await ok("invocations", "describe", ids.sleeperA);
    expect(describe).toMatch(/Target:\s+Sleeper\/nap/);
    expect(describe).toMatch(/#1 Sleep until/);
    const unknown = await ns.restate("invocations", "describe", "inv_1aPQLNoxS2gU5MThwVKpDcvQeaBQymrGK5");
    expect(unknown.code).toBe(1);
    expect(out(unknown)).toContain("not found");
  });

  it("state get shows a virtual object's state", async () => {
    const text = await ok("state", "get", "Counter", "k1");
    expect(text).toMatch(/count\s+5/);
  });

  it("state patch and clear change a key's state through the log, guarded by its version", async () => {
    const patch = await ok("state", "patch", "Counter", "k1", "--patch", '[{"op":"replace","path":"/count","value":7}]', "--yes");
    expect(patch).toMatch(/count\s+7/);
    expect(await ok("state", "get", "Counter", "k1")).toMatch(/count\s+7/);
    // A stale version, a service without state and bad bodies are refused and change nothing.
    const stale = await ns.http("POST", `${ns.adminUrl}/v4/services/Counter/state`, {
      version: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
      object_key: "k1",
      new_state: {},
    });
    expect(stale.status, stale.text).toBe(409);
    expect((await ns.http("POST", `${ns.adminUrl}/v4/services/Greeter/state`, { object_key: "k", new_state: {} })).status).toBe(400);
    expect((await ns.http("POST", `${ns.adminUrl}/v4/services/Nope/state`, { object_key: "k", new_state: {} })).status).toBe(404);
    expect((await ns.http("POST", `${ns.adminUrl}/v4/services/Counter/state`, { object_key: "k1", new_state: { count: [300] } })).status).toBe(400);
    expect((await ns.http("POST", `${ns.adminUrl}/v4/services/Counter/state`, { new_state: {} })).status).toBe(400);
    expect(await query("select key, value_utf8 from state where service_name = 'Counter' and service_key = 'k1'")).toEqual([{ key: "count", value_utf8: "7" }]);

    await ok("state", "clear", "Counter/k1", "--yes");
    expect(await query("select key from state where service_name = 'Counter' and service_key = 'k1'")).toEqual([]);
  });

  it("sql prints the rows /query holds, as a table and as JSON, and a 400 for bad SQL", async () => {
    const sql = "select id, target, status from sys_invocation order by id";
    const table = await ok("sql", sql);
    expect(table).toMatch(/4 rows\./);
    for (const id of Object.values(ids)) expect(table).toContain(id);
    const json = await ns.restate("sql", "--json", sql);
    expect(json.code, out(json)).toBe(0);
    const printed = JSON.parse(json.stdout.slice(json.stdout.indexOf("["))) as unknown;
    expect(printed).toEqual(await query(sql));
    const native = await ns.endure("sql", "--format", "json", sql);
    expect(native.code, native.stderr).toBe(0);
    expect(JSON.parse(native.stdout)).toEqual(printed);
    const bad = await ns.restate("sql", "select * from no_such_table");
    expect(bad.code).toBe(1);
    // The database's own message: SQLite's, or PostgreSQL's (E2E_STORE=postgres).
    expect(out(bad)).toMatch(/no such table: no_such_table|relation "no_such_table" does not exist/);
    expect(out(bad)).toContain("400 Bad Request");
  });

  it("services status counts invocations per handler and shows the keys in use", async () => {
    const text = await ok("services", "status");
    expect(text).toMatch(/nap\s+-\s+-\s+-\s+2\s+-\s+-|nap\s+-\s+-\s+-\s+-\s+-\s+2/);
    expect(text).toMatch(/k1\s+0\s+inv_/);
  });

  it("services config view and patch show and change a service's options", async () => {
    const before = await ok("services", "config", "view", "Counter");
    expect(before).toMatch(/Inactivity timeout:\s+\S+/);
    expect(before).not.toMatch(/Inactivity timeout:\s+3s/);
    await ok("services", "config", "patch", "Counter", "--inactivity-timeout", "3s", "--yes");
    expect(await ok("services", "config", "view", "Counter")).toMatch(/Inactivity timeout:\s+3s/);
  });

  it("invocations pause and resume stop and restart an invocation", async () => {
    expect(await ok("invocations", "pause", ids.sleeperA, "--yes")).toContain("Paused 1 invocations");
    await eventually(async () => ((await query(`select 1 from sys_invocation where id = '${ids.sleeperA}' and status = 'paused'`)).length > 0 ? true : undefined));
    expect(await ok("invocations", "list")).toMatch(/Status:\s+paused/);
    expect(await ok("invocations", "resume", ids.sleeperA, "--yes")).toContain("Resumed 1 invocations");
    await eventually(async () => ((await query(`select 1 from sys_invocation where id = '${ids.sleeperA}' and status != 'paused'`)).length > 0 ? true : undefined));
  });

  it("invocations restart-as-new and purge act on a completed invocation", async () => {
    await eventually(async () => ((await query(`select 1 from sys_invocation where id = '${ids.greet}' and status = 'completed'`)).length > 0 ? true : undefined));
    const restart = await ok("invocations", "restart-as-new", ids.greet, "--yes");
    const match = /Restarted 1 invocations[\s\S]*?(inv_[0-9a-zA-Z]+)\s+(inv_[0-9a-zA-Z]+)/.exec(restart);
    expect(match?.[1], restart).toBe(ids.greet);
    const fresh = match![2]!;
    await eventually(async () => ((await query(`select 1 from sys_invocation where id = '${fresh}' and completion_result = 'success'`)).length > 0 ? true : undefined));
    expect(await ok("invocations", "purge", ids.greet, "--yes")).toContain("Purged 1 invocations");
    await eventually(async () => ((await query(`select 1 from sys_invocation where id = '${ids.greet}'`)).length === 0 ? true : undefined));
  });

  it("subscriptions list answers with none", async () => {
    const r = await ns.restate("subscriptions", "list");
    expect(r.code, out(r)).toBe(0);
  });

  it("invocations cancel and kill end the invocations they name", async () => {
    const cancel = await ok("invocations", "cancel", ids.sleeperA, "--yes");
    expect(cancel).toContain("Cancelled 1 invocations");
    const kill = await ok("invocations", "kill", ids.sleeperB, "--yes");
    expect(kill).toContain("Killed 1 invocations");
    const ended = await eventually(async () => {
      const rows = await query(
        `select id, completion_result from sys_invocation where id in ('${ids.sleeperA}', '${ids.sleeperB}') and status = 'completed' order by id`,
      );
      return rows.length === 2 ? rows : undefined;
    });
    expect(ended.map((r) => r.completion_result)).toEqual(["failure", "failure"]);
    const list = await ok("invocations", "list");
    expect(list).toMatch(/Showing 0\/0 invocations|No invocations found/);
  });

  it("deployments remove --force removes the deployment", async () => {
    expect(await ok("deployments", "remove", deploymentId, "--force", "--yes")).toContain(`Deployment ${deploymentId} removed successfully`);
    expect(await ok("deployments", "list")).toContain("No deployments were found");
  });
});
