// What the cluster test files share: three Endure processes on one fresh PostgreSQL database with
// the test services registered, a view of the lease rows, and calls that retry on 503.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { Partitioner } from "../../src/sharding/index.ts";
import { partitionKeyOf } from "../../src/types/index.ts";
import { startEndure, type EndureProcess } from "../harness/endure.ts";
import { call, register, type HttpResult } from "../harness/http.ts";
import { createTestDatabase, type TestDatabase } from "../harness/postgres.ts";
import { killAllStarted, sleep } from "../harness/processes.ts";
import { startServices, type ServicesProcess } from "../harness/services.ts";
import { TEST_SERVICES } from "../harness/suite.ts";
import { countEffects } from "../harness/effects.ts";

/** A lease row as the tests read it. */
export interface Lease {
  partition: number;
  leader: string;
  epoch: number;
  live: boolean;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  names?: string[];
  partitions?: number;
  leaseMs?: number;
  /** Where the nodes reach PostgreSQL, when not directly (a proxy in front of the database). */
  storeUrl?: (db: TestDatabase) => string;
  /** More ENDURE_* settings for every node. */
  env?: Record<string, string>;
  /** Services entry point (default: the test services). */
  services?: string;
}

/** Three (or `names.length`) nodes on one database, the test services registered through one. */
export interface Cluster {
  readonly db: TestDatabase;
  readonly sql: postgres.Sql;
  readonly nodes: Map<string, EndureProcess>;
  readonly services: ServicesProcess;
  readonly partitioner: Partitioner;
  readonly effectsFile: string;
  node(name: string): EndureProcess;
  leases(): Promise<Lease[]>;
  /** The node whose lease of `partition` is live now, or undefined. */
  leaderOf(partition: number): Promise<string | undefined>;
  /** The partition of an invocation id, or of an object key. */
  partitionOfInvocation(id: string): number;
  partitionOfKey(key: string): number;
  /** Waits until every partition has a live lease held by one of `names`, each holding its share. */
  waitForPlacement(names: string[], timeoutMs: number): Promise<Lease[]>;
  /** Calls random nodes of `live` until a 2xx arrives, with the same headers every time. */
  callUntilOk(live: string[], path: string, body: unknown, headers: Record<string, string>): Promise<HttpResult>;
  count(kind: string, id: string): Promise<number>;
  /** Output of every node, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts the nodes one after the other and registers the services through the second. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const names = opts.names ?? ["n1", "n2", "n3"];
  const partitions = opts.partitions ?? 12;
  const leaseMs = opts.leaseMs ?? 3000;
  const db = await createTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => undefined });
  const scratch = await mkdtemp(path.join(os.tmpdir(), "endure-cluster-"));
  const effectsFile = path.join(scratch, "effects.jsonl");
  const nodes = new Map<string, EndureProcess>();
  let services: ServicesProcess | undefined;
  const stop = async (): Promise<void> => {
    await Promise.allSettled([...nodes.values()].map((n) => n.stop()));
    await services?.stop();
    await killAllStarted();
    await sql.end();
    await db.drop();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    services = await startServices(opts.services ?? TEST_SERVICES, { EFFECTS_FILE: effectsFile });
    const store = opts.storeUrl?.(db) ?? db.url;
    // One after the other: the first creates the schema, and a loaded machine starts each faster alone.
    for (const name of names) {
      nodes.set(
        name,
        await startEndure({
          partitions,
          startTimeoutMs: 120_000,
          env: { ENDURE_STORE: store, ENDURE_NODE_NAME: name, ENDURE_LEASE_DURATION: `${leaseMs}ms`, ...opts.env },
        }),
      );
    }
    await register(nodes.get(names[1] ?? names[0]!)!.adminUrl, services.url);
  } catch (err) {
    const logs = [...nodes.entries()].map(([name, n]) => `--- ${name} ---\n${n.log.slice(-3000)}`).join("\n");
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }
  const svc = services;
  const partitioner = new Partitioner(partitions);
  const leases = async (): Promise<Lease[]> => {
    const rows = await sql<{ partition: number; leader: string; epoch: string; lease_expires_at: string }[]>`
      SELECT partition, leader, epoch, lease_expires_at FROM endure.partitions ORDER BY partition`;
    const now = Date.now();
    return rows.map((r) => ({ partition: r.partition, leader: r.leader, epoch: Number(r.epoch), live: Number(r.lease_expires_at) > now }));
  };
  const cluster: Cluster = {
    db,
    sql,
    nodes,
    services: svc,
    partitioner,
    effectsFile,
    node: (name) => {
      const n = nodes.get(name);
      if (n === undefined) throw new Error(`no node ${name}`);
      return n;
    },
    leases,
    async leaderOf(partition) {
      const l = (await leases()).find((x) => x.partition === partition);
      return l?.live === true ? l.leader : undefined;
    },
    partitionOfInvocation: (id) => partitioner.partitionOfInvocation(id),
    partitionOfKey: (key) => partitioner.partitionOf(partitionKeyOf(key)),
    async waitForPlacement(live, timeoutMs) {
      const started = Date.now();
      const fair = Math.ceil(partitions / live.length);
      for (;;) {
        const all = await leases();
        const ok =
          all.length === partitions &&
          all.every((l) => l.live && live.includes(l.leader)) &&
          live.every((n) => {
            const held = all.filter((l) => l.leader === n).length;
            return held >= 1 && held <= fair;
          });
        if (ok) return all;
        if (Date.now() - started > timeoutMs) throw new Error(`placement on ${live.join(",")} not reached: ${JSON.stringify(all)}`);
        await sleep(50);
      }
    },
    async callUntilOk(live, p, body, headers) {
      let last = "";
      for (let attempt = 0; attempt < 150; attempt++) {
        const node = cluster.node(live[Math.floor(Math.random() * live.length)]!);
        try {
          const res = await call(node.ingressUrl, p, body, headers);
          if (res.status >= 200 && res.status < 300) return res;
          last = `${res.status} ${res.text}`;
        } catch (err) {
          last = String(err);
        }
        await sleep(100);
      }
      throw new Error(`${p} never succeeded; last: ${last}`);
    },
    count: (kind, id) => countEffects(effectsFile, kind, id),
    logs: () => [...nodes.entries()].map(([name, n]) => `--- ${name} ---\n${n.log.slice(-4000)}`).join("\n"),
    stop,
  };
  return cluster;
}

/** A node of `names` other than `leader`. */
export function otherThan(names: readonly string[], leader: string | undefined): string {
  const other = names.find((n) => n !== leader);
  if (other === undefined) throw new Error(`no node besides ${String(leader)}`);
  return other;
}

/** What a counter load saw. */
export interface LoadResult {
  /** Acknowledged increments (2xx), by key. */
  acked: Map<string, number>;
  /** Answers by status, of every attempt ("error" for a connection error, "timeout" for no answer in time). */
  statuses: Map<string, number>;
  /** Requests that were never acknowledged within their retry budget. */
  failed: { key: string; last: string }[];
  /** The longest an attempt waited for an answer, in ms. */
  slowestMs: number;
}

/** Options of {@link startCounterLoad}. */
export interface LoadOptions {
  keys: string[];
  workers: number;
  /** The nodes a request may go to now (asked before each attempt). */
  nodes: () => string[];
  /** How long one attempt waits for an answer before it counts as a hang and is retried. */
  attemptTimeoutMs: number;
  /** How long a request keeps retrying (same idempotency key) before it counts as failed. */
  retryBudgetMs: number;
}

/**
 * Counter increments with idempotency keys from `workers` concurrent clients, each to a random
 * node, each retried with its key on a 503, a connection error or a timeout, until acknowledged.
 */
export function startCounterLoad(cluster: Cluster, o: LoadOptions): { stop(): Promise<LoadResult> } {
  const result: LoadResult = { acked: new Map(), statuses: new Map(), failed: [], slowestMs: 0 };
  let running = true;
  const note = (s: string) => result.statuses.set(s, (result.statuses.get(s) ?? 0) + 1);
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; running; i++) {
      const key = o.keys[(w + i) % o.keys.length]!;
      const headers = { "idempotency-key": `load-${w}-${i}-${Math.random().toString(36).slice(2)}` };
      const until = Date.now() + o.retryBudgetMs;
      let last = "";
      for (;;) {
        const names = o.nodes();
        const node = cluster.nodes.get(names[Math.floor(Math.random() * names.length)]!)!;
        const started = Date.now();
        try {
          const res = await call(node.ingressUrl, `/Counter/${key}/add`, 1, headers, { timeoutMs: o.attemptTimeoutMs });
          note(String(res.status));
          if (res.status === 200) {
            result.acked.set(key, (result.acked.get(key) ?? 0) + 1);
            break;
          }
          last = `${res.status} ${res.text}`;
        } catch (err) {
          const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
          note(timedOut ? "timeout" : "error");
          last = String(err);
        } finally {
          result.slowestMs = Math.max(result.slowestMs, Date.now() - started);
        }
        if (Date.now() > until) {
          result.failed.push({ key, last });
          break;
        }
        await sleep(200);
      }
    }
  };
  const all = Array.from({ length: o.workers }, (_, w) => worker(w));
  return {
    async stop() {
      running = false;
      await Promise.all(all);
      return result;
    },
  };
}
