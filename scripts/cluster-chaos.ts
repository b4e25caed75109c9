// Chaos rounds against a three-node cluster on the machine's PostgreSQL (longer than CI allows).
// Each round: a fresh database, three nodes, the test services; a counter workload with an
// idempotency key per increment sent to random nodes and retried with the same key until it is
// answered; meanwhile kill -9 a node (then restart it), and freeze another past its lease
// (SIGSTOP, then SIGCONT). At the end every key's counter must equal its acknowledged increments.
// Prints the failover times measured and a verdict per round:
// - killFailoverMs: from kill -9 until every partition has a live lease on a survivor;
// - killServesAgainMs: from kill -9 until a call on a key of every partition the killed node led
//   has been answered (through a survivor);
// - freezeTakeoverMs: from SIGSTOP until the survivors hold every partition;
// - thawStepDownMs: from SIGCONT until the thawed node has logged its step-down from every
//   partition it led (it commits nothing in between: fencing).
//
//   node --import tsx scripts/cluster-chaos.ts [rounds=5] [leaseMs=3000]
import postgres from "postgres";
import { Partitioner } from "../src/sharding/index.ts";
import { partitionKeyOf } from "../src/types/index.ts";
import { startEndure, type EndureProcess } from "../test/harness/endure.ts";
import { call, register } from "../test/harness/http.ts";
import { createTestDatabase } from "../test/harness/postgres.ts";
import { killAllStarted, sleep } from "../test/harness/processes.ts";
import { startServices } from "../test/harness/services.ts";
import { TEST_SERVICES, uid } from "../test/harness/suite.ts";

const ROUNDS = Number(process.argv[2] ?? 5);
const LEASE_MS = Number(process.argv[3] ?? 3000);
const PARTITIONS = 24;
const KEYS = 12;
const WORKERS = 8;

interface Round {
  round: number;
  ok: boolean;
  acked: number;
  killFailoverMs: number;
  killServesAgainMs: number;
  freezeTakeoverMs: number;
  thawStepDownMs: number;
  mismatches: string[];
}

async function waitPlacement(sql: postgres.Sql, names: string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const rows = await sql<{ leader: string; lease_expires_at: string }[]>`SELECT leader, lease_expires_at FROM endure.partitions`;
    const now = Date.now();
    if (rows.length === PARTITIONS && rows.every((r) => Number(r.lease_expires_at) > now && names.includes(r.leader))) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`placement on ${names.join(",")} not reached in ${timeoutMs} ms`);
    await sleep(25);
  }
}

const partitioner = new Partitioner(PARTITIONS);

/** A fresh object key whose partition is `partition`. */
function keyInPartition(partition: number, prefix: string): string {
  for (;;) {
    const key = uid(prefix);
    if (partitioner.partitionOf(partitionKeyOf(key)) === partition) return key;
  }
}

/** How many step-downs a node's output shows (logged at warn, which the harness captures). */
function stepDowns(log: string): number {
  return log.split("stepped down from a partition").length - 1;
}

async function round(n: number): Promise<Round> {
  const db = await createTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => undefined });
  const services = await startServices(TEST_SERVICES, {});
  const nodes = new Map<string, EndureProcess>();
  try {
    for (const name of ["n1", "n2", "n3"]) {
      const node = await startEndure({ env: { ENDURE_STORE: db.url, ENDURE_NODE_NAME: name, ENDURE_LEASE_DURATION: `${LEASE_MS}ms` } });
      nodes.set(name, node);
      if (name === "n1") await register(node.adminUrl, services.url);
    }
    await sleep(1500);
    await waitPlacement(sql, ["n1", "n2", "n3"], 20_000);
    const live = new Set(["n1", "n2", "n3"]);
    const keys = Array.from({ length: KEYS }, (_, i) => uid(`chaos${n}-${i}`));
    const acked = new Map<string, number>(keys.map((k) => [k, 0]));
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        const key = keys[Math.floor(Math.random() * keys.length)]!;
        const headers = { "idempotency-key": uid("inc") };
        for (;;) {
          const names = [...live];
          const node = nodes.get(names[Math.floor(Math.random() * names.length)]!)!;
          try {
            const res = await call(node.ingressUrl, `/Counter/${key}/add`, 1, headers, { timeoutMs: 20_000 });
            if (res.status === 200) break;
          } catch {
            // a node died under the request: retry with the same key
          }
          await sleep(100);
        }
        acked.set(key, acked.get(key)! + 1);
      }
    };
    const workers = Array.from({ length: WORKERS }, () => worker());
    await sleep(2000);
    // kill -9 a node, then bring it back.
    const victimPartitions = (await sql<{ partition: number }[]>`SELECT partition FROM endure.partitions WHERE leader = 'n3'`).map((r) => r.partition);
    const probeKeys = victimPartitions.map((p) => keyInPartition(p, `probe${n}`));
    live.delete("n3");
    const killedAt = Date.now();
    await nodes.get("n3")!.kill("SIGKILL");
    const serving = Promise.all(
      probeKeys.map(async (key) => {
        for (let i = 0; ; i++) {
          const node = nodes.get(i % 2 === 0 ? "n1" : "n2")!;
          const res = await call(node.ingressUrl, `/Counter/${key}/get`, undefined, {}, { timeoutMs: 20_000 }).catch(() => undefined);
          if (res?.status === 200) return;
          await sleep(10);
        }
      }),
    ).then(() => Date.now() - killedAt);
    await waitPlacement(sql, ["n1", "n2"], LEASE_MS * 5);
    const killFailoverMs = Date.now() - killedAt;
    const killServesAgainMs = await serving;
    await sleep(1000);
    await nodes.get("n3")!.restart();
    live.add("n3");
    await waitPlacement(sql, ["n1", "n2", "n3"], LEASE_MS * 5).catch(() => undefined);
    await sleep(1000);
    // Freeze another past its lease, then thaw it.
    const frozen = nodes.get("n2")!;
    const frozenHeld = (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM endure.partitions WHERE leader = 'n2'`)[0]!.n;
    const stepDownsBefore = stepDowns(frozen.log);
    live.delete("n2");
    const frozenAt = Date.now();
    process.kill(frozen.pid, "SIGSTOP");
    let freezeTakeoverMs = -1;
    try {
      await waitPlacement(sql, ["n1", "n3"], LEASE_MS * 5);
      freezeTakeoverMs = Date.now() - frozenAt;
      await sleep(500);
    } finally {
      process.kill(frozen.pid, "SIGCONT");
    }
    const thawedAt = Date.now();
    let thawStepDownMs = -1;
    while (Date.now() - thawedAt < 10_000) {
      if (stepDowns(frozen.log) - stepDownsBefore >= frozenHeld) {
        thawStepDownMs = Date.now() - thawedAt;
        break;
      }
      await sleep(5);
    }
    live.add("n2");
    await sleep(2000);
    running = false;
    await Promise.all(workers);
    const mismatches: string[] = [];
    let total = 0;
    for (const key of keys) {
      const res = await call(nodes.get("n1")!.ingressUrl, `/Counter/${key}/get`, undefined, {});
      const want = acked.get(key)!;
      total += want;
      if (res.status !== 200 || res.json !== want) mismatches.push(`${key}: counter ${res.status} ${res.text}, acknowledged ${want}`);
    }
    return { round: n, ok: mismatches.length === 0, acked: total, killFailoverMs, killServesAgainMs, freezeTakeoverMs, thawStepDownMs, mismatches };
  } catch (err) {
    for (const [name, node] of nodes) console.error(`--- ${name} ---\n${node.log.slice(-3000)}`);
    throw err;
  } finally {
    await Promise.allSettled([...nodes.values()].map((node) => node.stop()));
    await services.stop();
    await killAllStarted();
    await sql.end();
    await db.drop();
  }
}

const results: Round[] = [];
for (let i = 1; i <= ROUNDS; i++) {
  const r = await round(i).catch((err: unknown) => ({
    round: i,
    ok: false,
    acked: 0,
    killFailoverMs: -1,
    killServesAgainMs: -1,
    freezeTakeoverMs: -1,
    thawStepDownMs: -1,
    mismatches: [err instanceof Error ? (err.stack ?? err.message) : String(err)],
  }));
  results.push(r);
  console.log(JSON.stringify(r));
}
const ok = results.every((r) => r.ok);
console.log(`${results.filter((r) => r.ok).length}/${results.length} rounds exact; lease ${LEASE_MS} ms`);
process.exit(ok ? 0 : 1);
