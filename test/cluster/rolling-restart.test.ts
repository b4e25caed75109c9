// A rolling restart of a three-node cluster: each node in turn gets SIGTERM (it hands its leases
// back), starts again and takes its share back, while clients keep calling random nodes with
// idempotency keys and retry on 503. The cluster keeps serving: no request fails past its
// retries, and every increment counts exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../harness/processes.ts";
import { uid } from "../harness/suite.ts";
import { startCluster, startCounterLoad, type Cluster } from "./support.ts";

const NAMES = ["n1", "n2", "n3"];
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ names: NAMES });
  await cluster.waitForPlacement(NAMES, 10_000);
}, 400_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("rolling restart", () => {
  it("restarting the nodes one at a time keeps the cluster serving, every increment once", async () => {
    const keys = Array.from({ length: 6 }, (_, i) => uid(`roll${i}`));
    // Clients keep calling every node, the one restarting too: a refused connection is retried
    // like a 503, with the same idempotency key, on another random node.
    const load = startCounterLoad(cluster, { keys, workers: 4, nodes: () => NAMES, attemptTimeoutMs: 30_000, retryBudgetMs: 60_000 });
    await sleep(1000);
    for (const name of NAMES) {
      await cluster.node(name).kill("SIGTERM");
      await cluster.node(name).restart();
      await cluster.waitForPlacement(NAMES, 30_000);
      await sleep(500);
    }
    const result = await load.stop();
    console.log(`rolling restart load: ${JSON.stringify(Object.fromEntries(result.statuses))}, slowest attempt ${result.slowestMs} ms`);
    expect(result.failed).toEqual([]);
    expect(result.statuses.get("timeout") ?? 0).toBe(0);
    expect([...result.acked.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const key of keys) {
      const total = (await cluster.callUntilOk(NAMES, `/Counter/${key}/get`, undefined, {})).json;
      expect(total, key).toBe(result.acked.get(key) ?? 0);
    }
  });
});
