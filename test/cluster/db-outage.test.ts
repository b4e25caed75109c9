// PostgreSQL unreachable for 10 s under a load of calls on a three-node cluster: a TCP proxy
// between the nodes and the database drops every connection and refuses new ones. Ingress
// answers 503 (no hang, no crash), every node stops acting for its partitions, and within
// seconds after the database returns every node serves again by itself; every increment
// acknowledged before, during or after counts exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, eventually } from "../harness/http.ts";
import { sleep } from "../harness/processes.ts";
import { uid } from "../harness/suite.ts";
import { startPgProxy, type PgProxy } from "./pg-proxy.ts";
import { startCluster, startCounterLoad, type Cluster } from "./support.ts";

const NAMES = ["n1", "n2", "n3"];
const OUTAGE_MS = 10_000;
let cluster: Cluster;
let proxy: PgProxy;

beforeAll(async () => {
  proxy = await startPgProxy({ host: "127.0.0.1", port: 5432 });
  cluster = await startCluster({
    names: NAMES,
    storeUrl: (db) => {
      const url = new URL(db.url);
      url.port = String(proxy.port);
      return url.toString();
    },
  });
  await cluster.waitForPlacement(NAMES, 10_000);
}, 400_000);

afterAll(async () => {
  proxy?.unblock();
  await cluster?.stop();
  await proxy?.close();
});

describe("PostgreSQL unreachable for 10 s", () => {
  it("503s, no crash, no lease kept, every node serves again by itself, every acknowledged increment once", async () => {
    const keys = Array.from({ length: 6 }, (_, i) => uid(`outage${i}`));
    const pids = NAMES.map((n) => cluster.node(n).pid);
    const load = startCounterLoad(cluster, { keys, workers: 6, nodes: () => NAMES, attemptTimeoutMs: 20_000, retryBudgetMs: 60_000 });
    await sleep(2000);

    proxy.block();
    const blockedAt = Date.now();
    // While the database is away a node answers, and answers 503.
    const during = await Promise.all(
      NAMES.map((n) => call(cluster.node(n).ingressUrl, `/Counter/${uid("away")}/add`, 1, { "idempotency-key": uid("away") }, { timeoutMs: 20_000 })),
    );
    for (const res of during) expect(res.status, res.text).toBe(503);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - blockedAt)));
    proxy.unblock();
    const back = Date.now();

    // Every node serves again by itself, a partition it leads or not.
    for (const n of NAMES) {
      await eventually(
        async () => {
          const res = await call(cluster.node(n).ingressUrl, `/Counter/${uid("back")}/add`, 1, {}, { timeoutMs: 20_000 }).catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        },
        30_000,
        `${n} to serve again`,
      );
    }
    console.log(`every node served again ${Date.now() - back} ms after the database returned (dropped ${proxy.dropped} connections)`);
    await cluster.waitForPlacement(NAMES, 20_000);
    await sleep(1000);
    const result = await load.stop();
    console.log(`load: ${JSON.stringify(Object.fromEntries(result.statuses))}, slowest attempt ${result.slowestMs} ms`);

    expect(result.failed).toEqual([]);
    expect(result.statuses.get("503") ?? 0).toBeGreaterThan(0);
    expect(result.statuses.get("timeout") ?? 0).toBe(0);
    // No node process exited, and each stopped acting for its partitions while cut off.
    for (const [i, n] of NAMES.entries()) {
      expect(cluster.node(n).pid, n).toBe(pids[i]);
      expect(() => process.kill(pids[i]!, 0), `${n} is running`).not.toThrow();
      expect(cluster.node(n).log, n).toContain("stepped down from a partition");
    }
    // Every acknowledged increment counted once.
    for (const key of keys) {
      const total = (await cluster.callUntilOk(NAMES, `/Counter/${key}/get`, undefined, {})).json;
      expect(total, key).toBe(result.acked.get(key) ?? 0);
    }
  });
});
