// The admin API of every node of a three-node cluster serves operations on partitions other
// nodes lead: each invocation operation and each state change goes through a node that does not
// lead the partition, and lands on the leader's log exactly once.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startEndure } from "../harness/endure.ts";
import { eventually, get } from "../harness/http.ts";
import { uid } from "../harness/suite.ts";
import { admin, invocationIdOf, waitForStatus } from "../e2e/semantics/helpers.ts";
import { otherThan, startCluster, type Cluster } from "./support.ts";

const NAMES = ["n1", "n2", "n3"];
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ names: NAMES });
  await cluster.waitForPlacement(NAMES, 10_000);
}, 400_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Sends a nap of `ms` and returns its id and the admin URL of a node that does not lead it. */
async function napElsewhere(ms: number): Promise<{ id: string; inv: string; adminUrl: string; leader: string }> {
  const id = uid("nap");
  const sent = await cluster.callUntilOk(NAMES, "/SemParent/nap/send", { id, ms }, {});
  const inv = invocationIdOf(sent);
  const leader = await eventually(() => cluster.leaderOf(cluster.partitionOfInvocation(inv)), 5000, "a leader");
  return { id, inv, adminUrl: cluster.node(otherThan(NAMES, leader)).adminUrl, leader };
}

/**
 * An admin request a client repeats while it is answered 503 (the store briefly refusing on a
 * loaded machine, or a partition failing over): for operations whose repetition is harmless.
 */
async function adminRetrying(url: string, method: string, p: string, body?: unknown): Promise<Awaited<ReturnType<typeof admin>>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await admin(url, method, p, body);
    if (res.status !== 503 || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const attach = (inv: string) => get(`${cluster.node("n1").ingressUrl}/restate/invocation/${inv}/attach`);

describe("admin operations through a node that does not lead the partition", () => {
  it("pause and resume a sleeping invocation", async () => {
    const nap = await napElsewhere(1500);
    await eventually(async () => ((await cluster.count("enter", nap.id)) > 0 ? true : undefined));
    const paused = await admin(nap.adminUrl, "PATCH", `/invocations/${nap.inv}/pause`);
    expect(paused.status, paused.text).toBe(202);
    await waitForStatus(nap.adminUrl, nap.inv, "paused");
    const resumed = await admin(nap.adminUrl, "PATCH", `/invocations/${nap.inv}/resume`);
    expect(resumed.status, resumed.text).toBe(200);
    expect((await attach(nap.inv)).json).toBe(`woke:${nap.id}`);
    expect(await cluster.count("woke", nap.id)).toBe(1);
  });

  it("cancel and kill a sleeping invocation", async () => {
    for (const op of ["cancel", "kill"]) {
      const nap = await napElsewhere(60_000);
      await eventually(async () => ((await cluster.count("enter", nap.id)) > 0 ? true : undefined));
      const res = await admin(nap.adminUrl, "PATCH", `/invocations/${nap.inv}/${op}`);
      expect(res.status, `${op}: ${res.text}`).toBe(op === "cancel" ? 202 : 200);
      await waitForStatus(nap.adminUrl, nap.inv, "completed");
      expect(await cluster.count("woke", nap.id)).toBe(0);
    }
  });

  it("restart-as-new and purge a completed invocation", async () => {
    const nap = await napElsewhere(10);
    expect((await attach(nap.inv)).json).toBe(`woke:${nap.id}`);
    const restarted = await admin(nap.adminUrl, "PATCH", `/invocations/${nap.inv}/restart-as-new`);
    expect(restarted.status, restarted.text).toBe(200);
    const fresh = (restarted.json as { new_invocation_id: string }).new_invocation_id;
    // The new invocation keeps the old one's partition and exists once the answer is out: an
    // attach finds it at once (a 404 here fails the test).
    const output = await eventually(async () => {
      const res = await attach(fresh);
      // The store briefly refusing (503) on a loaded machine: ask again.
      return res.status === 503 ? undefined : res;
    }, 10_000, "the restarted invocation");
    expect(output.json).toBe(`woke:${nap.id}`);
    expect(await cluster.count("woke", nap.id)).toBe(2);
    const purged = await admin(nap.adminUrl, "PATCH", `/invocations/${nap.inv}/purge`);
    expect(purged.status, purged.text).toBe(200);
    expect((await admin(nap.adminUrl, "GET", `/invocations/${nap.inv}`)).status).toBe(404);
    const again = await admin(nap.adminUrl, "DELETE", `/invocations/${fresh}?mode=purge`);
    expect(again.status, again.text).toBe(202);
  });

  it("an operation the leader refuses answers with the leader's status", async () => {
    const nap = await napElsewhere(10);
    await attach(nap.inv);
    const res = await adminRetrying(nap.adminUrl, "PATCH", `/invocations/${nap.inv}/cancel`);
    expect(res.status, res.text).toBe(409);
  });

  it("patches and clears an object's state", async () => {
    const key = uid("state");
    const leader = await eventually(() => cluster.leaderOf(cluster.partitionOfKey(key)), 5000, "a leader");
    const throughName = otherThan(NAMES, leader);
    const through = cluster.node(throughName);
    expect((await cluster.callUntilOk(NAMES, `/Counter/${key}/add`, 4, { "idempotency-key": uid("four") })).json).toBe(4);
    const bytes = [...new TextEncoder().encode("41")];
    const patched = await adminRetrying(through.adminUrl, "POST", "/services/Counter/state", { object_key: key, new_state: { total: bytes } });
    expect(patched.status, patched.text).toBe(202);
    expect((await cluster.callUntilOk([throughName], `/Counter/${key}/get`, undefined, {})).json).toBe(41);
    expect((await cluster.callUntilOk([throughName], `/Counter/${key}/add`, 1, { "idempotency-key": uid("one") })).json).toBe(42);
    const cleared = await adminRetrying(through.adminUrl, "POST", "/services/Counter/state", { object_key: key, new_state: {} });
    expect(cleared.status, cleared.text).toBe(202);
    expect((await cluster.callUntilOk([throughName], `/Counter/${key}/get`, undefined, {})).json).toBe(0);
  });

  it("creates, pauses and deletes a schedule whose partition another node leads", async () => {
    const id = uid("sched");
    const put = await admin(cluster.node("n1").adminUrl, "PUT", `/schedules/${id}`, {
      target: { service: "Counter", handler: "add", key: id },
      cron: "0 0 1 1 *",
      input: 1,
    });
    expect(put.status, put.text).toBe(201);
    for (const name of NAMES) {
      const paused = await admin(cluster.node(name).adminUrl, "PATCH", `/schedules/${id}/pause`);
      expect(paused.status, `${name}: ${paused.text}`).toBe(200);
      expect((paused.json as { paused: boolean }).paused).toBe(true);
    }
    const deleted = await admin(cluster.node("n3").adminUrl, "DELETE", `/schedules/${id}`);
    expect(deleted.status, deleted.text).toBe(202);
    expect((await admin(cluster.node("n2").adminUrl, "GET", `/schedules/${id}`)).status).toBe(404);
  });
});

interface ClusterView {
  clustered: boolean;
  this_node: string;
  nodes: { name: string; address: string; last_heartbeat: string | null; live: boolean; partitions_led: number[] }[];
  partitions: { partition: number; leader: string | null; epoch: number | null; lease_expires_at: string | null; live: boolean }[];
}

const endureCli = async (args: string[]): Promise<string> =>
  (await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, "bin", "endure.js"), ...args], { cwd: REPO_ROOT, timeout: 60_000 })).stdout;

describe("leases and node health", () => {
  it("every node's GET /cluster shows the three live nodes and the leader, epoch and lease of every partition", async () => {
    for (const name of NAMES) {
      // Leases may move between two reads on a loaded machine: compare a view with the lease
      // rows read right after it, until the two agree.
      await eventually(
        async () => {
          const res = await admin(cluster.node(name).adminUrl, "GET", "/cluster");
          expect(res.status, res.text).toBe(200);
          const view = res.json as ClusterView;
          const rows = await cluster.leases();
          expect(view.clustered).toBe(true);
          expect(view.this_node).toBe(name);
          expect(view.nodes.map((n) => n.name)).toEqual(NAMES);
          for (const n of view.nodes) {
            expect(n.address).toBe(new URL(cluster.node(n.name).ingressUrl).host);
            expect(Date.now() - Date.parse(n.last_heartbeat ?? "")).toBeLessThan(60_000);
          }
          const agrees =
            view.nodes.every((n) => n.live) &&
            JSON.stringify(view.nodes.flatMap((n) => n.partitions_led).sort((a, b) => a - b)) === JSON.stringify(rows.map((r) => r.partition)) &&
            JSON.stringify(view.partitions.map((p) => [p.partition, p.leader, p.epoch, p.live])) ===
              JSON.stringify(rows.map((r) => [r.partition, r.leader, r.epoch, r.live]));
          return agrees ? true : undefined;
        },
        20_000,
        `${name}'s view to match the lease rows`,
      );
    }
  });

  it("endure cluster prints the nodes and partitions as tables, and as JSON with --json", async () => {
    const table = await endureCli(["cluster", "--admin-url", cluster.node("n1").adminUrl]);
    expect(table).toMatch(/NODE\s+ADDRESS\s+LIVE\s+LAST HEARTBEAT\s+LEADS/);
    expect(table).toMatch(/PARTITION\s+LEADER\s+EPOCH\s+LEASE EXPIRES\s+LIVE/);
    for (const name of NAMES) expect(table).toMatch(new RegExp(`^${name}\\s+127\\.0\\.0\\.1:\\d+\\s+(yes|no)\\s`, "m"));
    // One row per partition: its leader (one of the nodes), epoch, lease expiry and liveness.
    for (let p = 0; p < 12; p++) expect(table).toMatch(new RegExp(`^${p}\\s+n[123]\\s+\\d+\\s+\\d{4}-\\S+Z\\s+(yes|no)$`, "m"));
    const json = JSON.parse(await endureCli(["cluster", "--json", "--admin-url", cluster.node("n2").adminUrl])) as ClusterView;
    expect(json.this_node).toBe("n2");
    expect(json.partitions).toHaveLength(12);
  });

  it("a single node answers with itself leading every partition", async () => {
    const single = await startEndure({ partitions: 4, startTimeoutMs: 60_000 });
    try {
      const view = (await admin(single.adminUrl, "GET", "/cluster")).json as ClusterView;
      expect(view.clustered).toBe(false);
      expect(view.nodes).toEqual([{ name: view.this_node, address: single.ingressUrl, last_heartbeat: null, live: true, partitions_led: [0, 1, 2, 3] }]);
      expect(view.partitions.map((p) => [p.partition, p.leader, p.live])).toEqual([0, 1, 2, 3].map((p) => [p, view.this_node, true]));
    } finally {
      await single.stop();
    }
  });
});
