// E2E_STORE=cluster: the end-to-end suite against three Endure nodes on one fresh PostgreSQL
// database. `startEndure` then returns one EndureProcess for the whole cluster whose
// `ingressUrl` and `adminUrl` move to the next node on every read, so a test's requests spread
// over all nodes without the test knowing: most land on a node that does not lead the
// partition they touch, and exercise forwarding, cross-node answers and the shared schema
// registry.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { Partitioner } from "../../src/sharding/index.ts";
import { freePorts, spawnServer, waitHealthy, type EndureOptions, type EndureProcess, type Ports } from "./spawn.ts";
import { createTestDatabase } from "./postgres.ts";
import type { ManagedProcess } from "./processes.ts";
import { sleep } from "./processes.ts";

/** Names of the cluster's nodes (`--node-name`). */
export const CLUSTER_NODES = ["n1", "n2", "n3"] as const;

/**
 * Lease length of the test cluster. Short, so that the partitions spread over the three nodes
 * within a second or two of start-up (a node hands back its surplus on its lease ticks).
 */
const LEASE_MS = 1500;

/** How long a node may take to start: three nodes start at once on a machine shared with other work. */
const NODE_START_TIMEOUT_MS = 60_000;

interface Node {
  readonly name: string;
  readonly dataDir: string;
  ports: Ports;
  proc: ManagedProcess;
  readonly opts: EndureOptions;
  previousLogs: string;
}

const urls = (ports: Ports) => ({ ingress: `http://127.0.0.1:${ports.ingress}`, admin: `http://127.0.0.1:${ports.admin}` });

/** Starts three nodes on a fresh database, waits until every node leads a share; see the file comment. */
export async function startCluster(opts: EndureOptions): Promise<EndureProcess & ClusterHandle> {
  const database = await createTestDatabase();
  const sql = postgres(database.url, { max: 1, onnotice: () => undefined });
  const timeoutMs = opts.startTimeoutMs ?? NODE_START_TIMEOUT_MS;
  const nodes: Node[] = [];
  const dataDirs: string[] = [];
  const removeDataDirs = () => Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
  const startNode = async (name: string): Promise<Node> => {
    const nodeOpts: EndureOptions = {
      ...opts,
      env: { ENDURE_STORE: database.url, ENDURE_NODE_NAME: name, ENDURE_LEASE_DURATION: `${LEASE_MS}ms`, ...opts.env },
    };
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `endure-e2e-${name}-`));
    dataDirs.push(dataDir);
    let previousLogs = "";
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts();
      const proc = spawnServer(dataDir, ports, nodeOpts);
      try {
        await waitHealthy(proc, urls(ports).ingress, urls(ports).admin, timeoutMs);
        return { name, dataDir, ports, proc, opts: nodeOpts, previousLogs };
      } catch (err) {
        // Another test file may take a port between the probe and the bind: try fresh ports.
        if (attempt < 3 && proc.hasExited && proc.log.includes("EADDRINUSE")) {
          previousLogs += proc.log;
          continue;
        }
        throw err;
      }
    }
  };
  try {
    // The first node creates the schema; the others join it together.
    nodes.push(await startNode(CLUSTER_NODES[0]));
    // Every node that did start is kept, so that a failure of the other still stops it below.
    const joined = await Promise.allSettled(CLUSTER_NODES.slice(1).map(startNode));
    for (const r of joined) if (r.status === "fulfilled") nodes.push(r.value);
    const failed = joined.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    await waitForPlacement(sql, timeoutMs);
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.proc.kill("SIGKILL")));
    await sql.end();
    await database.drop();
    await removeDataDirs();
    throw err;
  }
  const partitioner = new Partitioner((await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM endure.partitions`)[0]!.n);

  let next = 0;
  const rotate = (): Node => nodes[next++ % nodes.length]!;
  const leaderOf = async (partition: number): Promise<Node> => {
    const rows = await sql<{ leader: string }[]>`SELECT leader FROM endure.partitions WHERE partition = ${partition}`;
    return nodes.find((n) => n.name === rows[0]?.leader) ?? rotate();
  };

  const handle: EndureProcess & ClusterHandle = {
    get ingressUrl() {
      return urls(rotate().ports).ingress;
    },
    get adminUrl() {
      return urls(rotate().ports).admin;
    },
    dataDir: nodes[0]!.dataDir,
    get pid() {
      return nodes[0]!.proc.pid;
    },
    get log() {
      return nodes.map((n) => `--- node ${n.name} ---\n${n.previousLogs}${n.proc.log}`).join("\n");
    },
    nodeUrls: () => nodes.map((n) => ({ name: n.name, ...urls(n.ports) })),
    async adminUrlOfLeader(invocationId: string) {
      return urls((await leaderOf(partitioner.partitionOfInvocation(invocationId))).ports).admin;
    },
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      await Promise.all(nodes.map((n) => n.proc.kill(signal)));
    },
    async restart() {
      await Promise.all(nodes.map((n) => n.proc.kill("SIGTERM")));
      for (const n of nodes) {
        n.previousLogs += n.proc.log;
        n.proc = spawnServer(n.dataDir, n.ports, n.opts);
      }
      await Promise.all(nodes.map((n) => waitHealthy(n.proc, urls(n.ports).ingress, urls(n.ports).admin, timeoutMs)));
      await waitForPlacement(sql, timeoutMs);
    },
    async stop() {
      for (const n of nodes) clusterOfAdminUrl.delete(urls(n.ports).admin);
      await Promise.allSettled(nodes.map((n) => n.proc.kill("SIGTERM")));
      await sql.end();
      await database.drop();
      await removeDataDirs();
    },
  };
  for (const n of nodes) clusterOfAdminUrl.set(urls(n.ports).admin, handle);
  return handle;
}

/**
 * Waits until every node of the cluster `adminUrl` belongs to (if any) serves `services` from
 * deployment `deploymentId`. A node re-reads the deployments others registered every second
 * (src/node/node.ts): a test that registers through one node and calls through the next would
 * otherwise see the previous revision, or a 404, for up to that second.
 */
export async function awaitDeploymentOnAllNodes(adminUrl: string, deploymentId: string, services: string[]): Promise<void> {
  const cluster = clusterOfAdminUrl.get(adminUrl);
  if (cluster === undefined) return;
  const deadline = Date.now() + 10_000;
  for (const node of cluster.nodeUrls()) {
    for (const service of services) {
      for (;;) {
        const res = await fetch(`${node.admin}/services/${encodeURIComponent(service)}`, { signal: AbortSignal.timeout(5000) });
        const body = (await res.json().catch(() => undefined)) as { deployment_id?: string } | undefined;
        if (res.status === 200 && body?.deployment_id === deploymentId) break;
        if (Date.now() > deadline) throw new Error(`node ${node.name} never served ${service} from deployment ${deploymentId}`);
        await sleep(50);
      }
    }
  }
}

/** The running clusters, by the admin URL of each of their nodes. */
const clusterOfAdminUrl = new Map<string, ClusterHandle>();

/**
 * Where an admin request on invocation `invocationId` should go: `adminUrl` itself, unless it
 * belongs to a cluster node, then the admin URL of the node leading the invocation's partition.
 * Admin operations on invocations (cancel, kill, pause, resume, purge, restart-as-new) are not
 * yet forwarded between nodes: a node that does not lead the partition answers 503. Once they
 * are, this routing can go and the requests can rotate over the nodes like the others.
 */
export async function adminUrlForInvocation(adminUrl: string, invocationId: string): Promise<string> {
  const cluster = clusterOfAdminUrl.get(adminUrl);
  return cluster === undefined ? adminUrl : cluster.adminUrlOfLeader(invocationId);
}

/** What a cluster adds to {@link EndureProcess}. */
export interface ClusterHandle {
  /** Every node's name and URLs. */
  nodeUrls(): Array<{ name: string; ingress: string; admin: string }>;
  /** The admin URL of the node that leads the partition of `invocationId` right now. */
  adminUrlOfLeader(invocationId: string): Promise<string>;
}

/** Waits until every partition has a live lease held by a node of the cluster, spread evenly. */
async function waitForPlacement(sql: postgres.Sql, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const rows = await sql<{ leader: string | null; live: boolean }[]>`
      SELECT leader, lease_expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint AS live
      FROM endure.partitions`;
    // Balanced: no node above its fair share (with few partitions a node may lead none).
    const fair = Math.ceil(rows.length / CLUSTER_NODES.length);
    const held = (n: string) => rows.filter((r) => r.leader === n).length;
    if (rows.length > 0 && rows.every((r) => r.live && CLUSTER_NODES.includes(r.leader as never)) && CLUSTER_NODES.every((n) => held(n) <= fair)) return;
    last = JSON.stringify(rows);
    if (Date.now() > deadline) throw new Error(`the partitions never spread over ${CLUSTER_NODES.join(", ")}: ${last}`);
    await sleep(100);
  }
}
