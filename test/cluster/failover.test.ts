// Three Endure processes on one PostgreSQL database: the partitions split between them, any node
// answers for any partition, a node killed with -9 loses its partitions to the others within the
// lease time, and a node frozen past its lease (SIGSTOP) is taken over and, once thawed, steps
// down. Calls between handlers cross nodes. A counter workload with idempotency keys, sent to random nodes, ends exactly right.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEndure, type EndureProcess } from "../harness/endure.ts";
import { call, eventually, register, type HttpResult } from "../harness/http.ts";
import { createTestDatabase, type TestDatabase } from "../harness/postgres.ts";
import { killAllStarted, sleep } from "../harness/processes.ts";
import { startServices, type ServicesProcess } from "../harness/services.ts";
import { TEST_SERVICES, uid } from "../harness/suite.ts";

const PARTITIONS = 12;
const LEASE_MS = 1500;

let db: TestDatabase;
let sql: postgres.Sql;
let services: ServicesProcess;
const nodes = new Map<string, EndureProcess>();

beforeAll(async () => {
  db = await createTestDatabase();
  sql = postgres(db.url, { max: 2, onnotice: () => undefined });
  services = await startServices(TEST_SERVICES, {});
  for (const name of ["n1", "n2", "n3"]) {
    const node = await startEndure({
      partitions: PARTITIONS,
      env: { ENDURE_STORE: db.url, ENDURE_NODE_NAME: name, ENDURE_LEASE_DURATION: `${LEASE_MS}ms` },
    });
    nodes.set(name, node);
  }
  await register(nodes.get("n2")!.adminUrl, services.url);
});

afterAll(async () => {
  await Promise.allSettled([...nodes.values()].map((n) => n.stop()));
  await services?.stop();
  await killAllStarted();
  await sql?.end();
  await db?.drop();
});

interface Lease {
  partition: number;
  leader: string;
  epoch: number;
  live: boolean;
}

async function leases(): Promise<Lease[]> {
  const rows = await sql<{ partition: number; leader: string; epoch: string; lease_expires_at: string }[]>`
    SELECT partition, leader, epoch, lease_expires_at FROM endure.partitions ORDER BY partition`;
  const now = Date.now();
  return rows.map((r) => ({ partition: r.partition, leader: r.leader, epoch: Number(r.epoch), live: Number(r.lease_expires_at) > now }));
}

/** Waits until every partition has a live lease held by one of `names`, evenly enough; returns them. */
async function waitForPlacement(names: string[], timeoutMs: number): Promise<{ leases: Lease[]; ms: number }> {
  const started = Date.now();
  const fair = Math.ceil(PARTITIONS / names.length);
  for (;;) {
    const all = await leases();
    const ok =
      all.length === PARTITIONS &&
      all.every((l) => l.live && names.includes(l.leader)) &&
      names.every((n) => {
        const held = all.filter((l) => l.leader === n).length;
        return held >= 1 && held <= fair;
      });
    if (ok) return { leases: all, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`placement on ${names.join(",")} not reached: ${JSON.stringify(all)}`);
    await sleep(50);
  }
}

/** Calls a random live node until a 2xx arrives, with the same headers every time. */
async function callUntilOk(live: string[], path: string, body: unknown, headers: Record<string, string>): Promise<HttpResult> {
  let last = "";
  for (let attempt = 0; attempt < 150; attempt++) {
    const node = nodes.get(live[Math.floor(Math.random() * live.length)]!)!;
    try {
      const res = await call(node.ingressUrl, path, body, headers);
      if (res.status >= 200 && res.status < 300) return res;
      last = `${res.status} ${res.text}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`${path} never succeeded; last: ${last}`);
}

describe("a three-node cluster on PostgreSQL", () => {
  it("a deployment registered through one node is used by all of them", async () => {
    for (const node of nodes.values()) {
      await eventually(async () => ((await call(node.ingressUrl, `/Counter/${uid("seen")}/get`, undefined, {})).status === 200 ? true : undefined), 5000, "the deployment");
    }
  });

  it("splits the partitions between the nodes, and every node answers for every partition", async () => {
    await waitForPlacement(["n1", "n2", "n3"], 10_000);
    const keys = Array.from({ length: 9 }, (_, i) => uid(`spread${i}`));
    for (const [i, key] of keys.entries()) {
      const node = nodes.get(`n${(i % 3) + 1}`)!;
      const res = await call(node.ingressUrl, `/Counter/${key}/add`, 5, {});
      expect(res.status, res.text).toBe(200);
      expect(res.json).toBe(5);
    }
  });

  it("a handler's calls reach objects whose partitions other nodes lead, and their answers come back", async () => {
    const keys = Array.from({ length: 8 }, (_, i) => uid(`across${i}`));
    for (const name of ["n1", "n2", "n3"]) {
      const res = await call(nodes.get(name)!.ingressUrl, "/Caller/addToAll", { keys, n: 2 }, {});
      expect(res.status, res.text).toBe(200);
      expect(res.json).toEqual(keys.map(() => (Number(name.slice(1)) * 2)));
    }
  });

  it("kill -9 of a node: its partitions move to the others within the lease time, and every increment and delayed send counts once", async () => {
    const keys = Array.from({ length: 6 }, (_, i) => uid(`kill${i}`));
    const perKey = 6;
    const live = ["n1", "n2", "n3"];
    const requests = Array.from({ length: keys.length * perKey }, (_, i) => ({
      key: keys[i % keys.length]!,
      headers: { "idempotency-key": uid(`kill-req${i}`) },
    }));
    const half = requests.length / 2;
    const answers: { key: string; total: number }[] = [];
    for (const r of requests.slice(0, half)) {
      const res = await callUntilOk(live, `/Counter/${r.key}/add`, 1, r.headers);
      answers.push({ key: r.key, total: res.json as number });
    }
    // Delayed sends in flight across the kill: each fires once, wherever its partition moved.
    for (const key of keys) {
      const sent = await callUntilOk(live, `/Counter/${key}/add/send?delay=1500ms`, 100, { "idempotency-key": uid("delayed") });
      expect(sent.status).toBe(202);
    }
    const before = await leases();
    const victimPartitions = before.filter((l) => l.leader === "n3").map((l) => l.partition);
    expect(victimPartitions.length).toBeGreaterThan(0);
    // Requests in flight while the node dies.
    const inFlight = requests.slice(half).map((r) =>
      call(nodes.get(live[Math.floor(Math.random() * 3)]!)!.ingressUrl, `/Counter/${r.key}/add`, 1, r.headers).then(
        (res) => res,
        () => undefined,
      ),
    );
    await sleep(30);
    const killedAt = Date.now();
    await nodes.get("n3")!.kill("SIGKILL");
    const { leases: after } = await waitForPlacement(["n1", "n2"], LEASE_MS * 4);
    const failoverMs = Date.now() - killedAt;
    console.log(`failover after kill -9: ${failoverMs} ms (lease ${LEASE_MS} ms)`);
    expect(failoverMs).toBeLessThanOrEqual(LEASE_MS + 1500);
    for (const p of victimPartitions) expect(after[p]!.epoch).toBeGreaterThan(before[p]!.epoch);
    const survivors = ["n1", "n2"];
    for (const [i, r] of requests.slice(half).entries()) {
      const first = await inFlight[i];
      const res = first?.status === 200 ? first : await callUntilOk(survivors, `/Counter/${r.key}/add`, 1, r.headers);
      answers.push({ key: r.key, total: res.json as number });
    }
    for (const key of keys) {
      const totals = answers.filter((a) => a.key === key).map((a) => a.total % 100).sort((a, b) => a - b);
      expect(totals, `answers for ${key}`).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
    }
    await sleep(1500);
    for (const key of keys) {
      // Every increment once, and the delayed send once.
      expect((await callUntilOk(survivors, `/Counter/${key}/get`, undefined, {})).json, key).toBe(perKey + 100);
    }
  });

  it("a leader frozen past its lease is taken over; thawed, it commits nothing and steps down", async () => {
    const frozen = nodes.get("n2")!;
    const before = await leases();
    const held = before.filter((l) => l.leader === "n2").map((l) => l.partition);
    expect(held.length).toBeGreaterThan(0);
    process.kill(frozen.pid, "SIGSTOP");
    let thawed = false;
    try {
      const frozenAt = Date.now();
      const { leases: after } = await waitForPlacement(["n1"], LEASE_MS * 4);
      console.log(`takeover from a frozen leader: ${Date.now() - frozenAt} ms (lease ${LEASE_MS} ms)`);
      for (const p of held) expect(after[p]!.epoch).toBeGreaterThan(before[p]!.epoch);
      // The cluster serves while the old leader sleeps.
      const key = uid("frozen");
      expect((await callUntilOk(["n1"], `/Counter/${key}/add`, 2, { "idempotency-key": uid("f") })).json).toBe(2);
      // A request that reaches the frozen node: it is read only once the node thaws, when its
      // leases are stale; the node must not apply it itself, and the request is still answered once.
      const pending = call(frozen.ingressUrl, `/Counter/${key}/add`, 3, { "idempotency-key": uid("thawed") });
      await sleep(200);
      process.kill(frozen.pid, "SIGCONT");
      thawed = true;
      const answered = await pending;
      expect(answered.status, answered.text).toBe(200);
      expect(answered.json).toBe(5);
      await sleep(LEASE_MS);
      expect(frozen.log).toContain("stepped down from a partition");
      // No partition moved back to the thawed node at an old epoch, and nothing it did moved a log.
      const now = await leases();
      for (const p of held) {
        expect(now[p]!.epoch).toBeGreaterThanOrEqual(after[p]!.epoch);
        if (now[p]!.leader === "n2") expect(now[p]!.epoch).toBeGreaterThan(after[p]!.epoch);
      }
      expect((await callUntilOk(["n1", "n2"], `/Counter/${key}/get`, undefined, {})).json).toBe(5);
    } finally {
      if (!thawed) process.kill(frozen.pid, "SIGCONT");
    }
  });
});
