import { json, type AdminRoute } from '../admin/index.ts';
import type { LeaseStore } from '../store/index.ts';

/** What `GET /cluster` needs from the node. */
export interface ClusterRouteDeps {
  /** This node's name; undefined on a single node (no `--node-name`, or SQLite). */
  readonly nodeName: string | undefined;
  readonly partitions: number;
  /** The lease table (a cluster node only). */
  readonly leases: LeaseStore | undefined;
  /** How long a lease and a heartbeat run (`--lease-duration`): the last heartbeat is its end minus this. */
  readonly leaseMs: number;
  /** Where other nodes reach this node (its advertised address), or its ingress URL on a single node. */
  readonly address: () => string;
  readonly clock: () => number;
}

/** One node in `GET /cluster`. */
export interface ClusterNodeView {
  name: string;
  address: string;
  /** When the node last heartbeat (ISO 8601), or null when its row is gone (it left or lapsed long ago). */
  last_heartbeat: string | null;
  /** Whether its heartbeat has not lapsed. */
  live: boolean;
  /** The partitions whose live lease it holds. */
  partitions_led: number[];
}

/** One partition in `GET /cluster`. */
export interface ClusterPartitionView {
  partition: number;
  /** The node named in the lease row, or null when the partition never had a leader. */
  leader: string | null;
  epoch: number | null;
  lease_expires_at: string | null;
  /** Whether the lease is live now: a leader acts for the partition. */
  live: boolean;
}

/** The body of `GET /cluster`. */
export interface ClusterView {
  /** Whether this node is one of several sharing a PostgreSQL store. */
  clustered: boolean;
  /** The node that answered. */
  this_node: string;
  nodes: ClusterNodeView[];
  partitions: ClusterPartitionView[];
}

/** The name a single node reports for itself. */
const SINGLE_NODE_NAME = 'local';

/**
 * `GET /cluster`: which node leads which partition at which epoch until when, and each node's
 * heartbeat, as the lease table says now; every node answers the same (each reads the shared
 * table). A single node answers with itself leading every partition.
 */
export function clusterRoutes(deps: ClusterRouteDeps): AdminRoute[] {
  return [{ method: 'GET', path: '/cluster', handle: async () => json(200, await clusterView(deps)) }];
}

async function clusterView(deps: ClusterRouteDeps): Promise<ClusterView> {
  const all = Array.from({ length: deps.partitions }, (_, p) => p);
  if (deps.leases === undefined || deps.nodeName === undefined) {
    const name = deps.nodeName ?? SINGLE_NODE_NAME;
    return {
      clustered: false,
      this_node: name,
      nodes: [{ name, address: deps.address(), last_heartbeat: null, live: true, partitions_led: all }],
      partitions: all.map((partition) => ({ partition, leader: name, epoch: null, lease_expires_at: null, live: true })),
    };
  }
  const now = deps.clock();
  // Every row, lapsed ones too (a heartbeat end after 0 is any heartbeat at all).
  const [rows, leases] = await Promise.all([deps.leases.listNodes(0), deps.leases.listLeases()]);
  const byPartition = new Map(leases.map((l) => [l.partition, l]));
  const partitions: ClusterPartitionView[] = all.map((partition) => {
    const l = byPartition.get(partition);
    return l === undefined
      ? { partition, leader: null, epoch: null, lease_expires_at: null, live: false }
      : { partition, leader: l.leader, epoch: l.epoch, lease_expires_at: new Date(l.expiresAt).toISOString(), live: l.expiresAt > now };
  });
  const led = (name: string): number[] => partitions.filter((p) => p.live && p.leader === name).map((p) => p.partition);
  const nodes: ClusterNodeView[] = rows.map((n) => ({
    name: n.name,
    address: n.address,
    last_heartbeat: new Date(n.expiresAt - deps.leaseMs).toISOString(),
    live: n.expiresAt > now,
    partitions_led: led(n.name),
  }));
  // Leaders named in lease rows whose node row is gone (left the cluster, or never heartbeat).
  for (const name of new Set(partitions.flatMap((p) => (p.leader !== null ? [p.leader] : [])))) {
    if (!nodes.some((n) => n.name === name)) nodes.push({ name, address: '', last_heartbeat: null, live: false, partitions_led: led(name) });
  }
  nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { clustered: true, this_node: deps.nodeName, nodes, partitions };
}
