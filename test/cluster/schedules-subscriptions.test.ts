// Schedules and subscriptions in a three-node cluster: a schedule fires once per tick, from the
// leader of its partition only, and keeps its cadence without a doubled or lost tick when that
// leader is killed; a subscription is consumed by one node at a time and hands over with the
// lease, every record counted once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clustersSetting, natsTopic, type TestTopic } from "../harness/brokers.ts";
import { readEffects } from "../harness/effects.ts";
import { eventually, register } from "../harness/http.ts";
import { sleep } from "../harness/processes.ts";
import { startServices, type ServicesProcess } from "../harness/services.ts";
import { uid } from "../harness/suite.ts";
import { admin } from "../e2e/semantics/helpers.ts";
import { subscriptionPartition } from "../../src/subscriptions/index.ts";
import { schedulePartition } from "../../src/node/schedule-routes.ts";
import { otherThan, startCluster, type Cluster } from "./support.ts";

const NAMES = ["n1", "n2", "n3"];
const LEASE_MS = 3000;
let cluster: Cluster;
let tickers: ServicesProcess;
const topics: TestTopic[] = [];

beforeAll(async () => {
  cluster = await startCluster({ names: NAMES, leaseMs: LEASE_MS, env: { ENDURE_SUBSCRIPTION_CLUSTERS: clustersSetting() } });
  tickers = await startServices("test/services/schedules-main.ts", { EFFECTS_FILE: cluster.effectsFile, SCHEDULES_VARIANT: "none" });
  await register(cluster.node("n3").adminUrl, tickers.url);
  await cluster.waitForPlacement(NAMES, 10_000);
}, 400_000);

afterAll(async () => {
  for (const t of topics) await t.remove();
  await tickers?.stop();
  await cluster?.stop();
});

/** The nodes still running. */
const live = new Set(NAMES);

describe("schedules in a cluster", () => {
  it("fire once per tick from the leader of their partition, across a kill -9 of that leader", async () => {
    const id = uid("every");
    const created = await admin(cluster.node("n1").adminUrl, "PUT", `/schedules/${id}`, {
      target: { service: "Tally", handler: "add", key: id },
      every: "1s",
      catch_up: "all",
      // The ticks of the failover are caught up in one firing: under the default overlap `skip`
      // the first would start and the others count as skipped (schedule/index.ts, Policies).
      overlap: "allow-all",
    });
    expect(created.status, created.text).toBe(201);
    const ticks = async (): Promise<Map<string, Set<number>>> => {
      const byTick = new Map<string, Set<number>>();
      for (const e of await readEffects(cluster.effectsFile, id)) {
        if (e.kind !== "tally") continue;
        const { tick, n } = e as unknown as { tick: string; n: number };
        byTick.set(tick, (byTick.get(tick) ?? new Set()).add(n));
      }
      return byTick;
    };
    await eventually(async () => ((await ticks()).size >= 3 ? true : undefined), 15_000, "three ticks");
    const partition = schedulePartition(cluster.partitioner, id);
    const leader = await cluster.leaderOf(partition);
    expect(leader).toBeDefined();
    await cluster.node(leader!).kill("SIGKILL");
    live.delete(leader!);
    await cluster.waitForPlacement([...live], LEASE_MS * 4);
    const firedBefore = (await ticks()).size;
    await eventually(async () => ((await ticks()).size >= firedBefore + 3 ? true : undefined), 15_000, "three ticks after the failover");
    const paused = await admin(cluster.node(otherThan([...live], undefined)).adminUrl, "PATCH", `/schedules/${id}/pause`);
    expect(paused.status, paused.text).toBe(200);
    await sleep(1500);

    const byTick = await ticks();
    // Each tick ran once: one increment of the object's count (a side effect recorded twice
    // across the kill carries the same count), and the counts are 1..N without a gap.
    const counts = [...byTick.values()].map((ns) => {
      expect(ns.size).toBe(1);
      return [...ns][0]!;
    });
    expect(counts.sort((a, b) => a - b)).toEqual(counts.map((_, i) => i + 1));
    // No tick lost: consecutive ticks one second apart from the first to the last.
    const times = [...byTick.keys()].map((t) => Date.parse(t)).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `tick ${i}`).toBe(1000);
    const view = (paused.json as { started: number; missed: number; skipped: number }) ?? { started: 0, missed: 0, skipped: 0 };
    expect(view.missed).toBe(0);
    expect(view.skipped).toBe(0);
    expect(view.started).toBe(times.length);
  });
});

describe("subscriptions in a cluster", () => {
  it("one node consumes a subscription; it moves with the lease and counts every record once", async () => {
    const topic = await natsTopic(`endure.test.${uid("cluster")}`);
    topics.push(topic);
    const through = cluster.node([...live][0]!);
    const created = await admin(through.adminUrl, "POST", "/subscriptions", { source: `nats://nats1/${topic.name}`, sink: "service://EventCounter/add" });
    expect(created.status, created.text).toBe(201);
    const sub = (created.json as { id: string }).id;
    const keys = Array.from({ length: 4 }, (_, i) => uid(`ev${i}`));
    const publish = (from: number, to: number) =>
      topic.publish(keys.flatMap((key) => Array.from({ length: to - from + 1 }, (_, i) => ({ key, body: { key, n: from + i } }))));
    const tallies = async (): Promise<{ count: number; last: number; disorder: number }[]> =>
      Promise.all(keys.map(async (key) => (await cluster.callUntilOk([...live], `/EventCounter/${key}/get`, undefined, {})).json as { count: number; last: number; disorder: number }));

    // Exactly one node runs a consumer: the leader of the subscription's partition.
    const consumers = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const name of live) {
        const view = await admin(cluster.node(name).adminUrl, "GET", `/subscriptions/${sub}`);
        if (view.status === 200 && (view.json as { consumer?: unknown }).consumer !== undefined) out.push(name);
      }
      return out;
    };
    const partition = subscriptionPartition(cluster.partitioner, sub);
    const leader = await eventually(() => cluster.leaderOf(partition), 5000, "a leader");
    await eventually(async () => ((await consumers()).join() === leader ? true : undefined), 10_000, `only ${leader} consuming`);

    await publish(1, 20);
    await eventually(async () => ((await tallies()).every((t) => t.count === 20) ? true : undefined), 20_000, "the first 20 records of each key");
    // Records published while the consuming node shuts down are consumed by the next leader.
    const stopping = cluster.node(leader!).kill("SIGTERM");
    await publish(21, 40);
    await stopping;
    live.delete(leader!);
    await cluster.waitForPlacement([...live], LEASE_MS * 4);
    const next = await cluster.leaderOf(partition);
    await eventually(async () => ((await consumers()).join() === next ? true : undefined), 10_000, `only ${next} consuming`);
    await eventually(async () => ((await tallies()).every((t) => t.count >= 40) ? true : undefined), 20_000, "all 40 records of each key");
    await sleep(500);
    for (const t of await tallies()) expect(t).toMatchObject({ count: 40, last: 40, disorder: 0 });
    const deleted = await admin(cluster.node(next!).adminUrl, "DELETE", `/subscriptions/${sub}`);
    expect(deleted.status, deleted.text).toBe(202);
  });
});
