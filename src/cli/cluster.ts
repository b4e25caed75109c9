import type { Command } from 'commander';
import { client, withAdminOptions } from './operator.ts';
import { printJson, printTable } from './output.ts';

// `endure cluster`: which node leads which partition at which epoch, and each node's health,
// as `GET /cluster` on any node reports them.

interface ClusterView {
  clustered: boolean;
  this_node: string;
  nodes: { name: string; address: string; last_heartbeat: string | null; live: boolean; partitions_led: number[] }[];
  partitions: { partition: number; leader: string | null; epoch: number | null; lease_expires_at: string | null; live: boolean }[];
}

/** Adds the `cluster` command. */
export function addClusterCommand(program: Command): void {
  withAdminOptions(
    program.command('cluster').description('show the nodes of the cluster and which node leads which partition at which epoch'),
  ).action(async (_o: unknown, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const view = (await admin.request('GET', '/cluster')) as ClusterView;
    if (opts.json) return printJson(view);
    printTable(
      ['NODE', 'ADDRESS', 'LIVE', 'LAST HEARTBEAT', 'LEADS'],
      view.nodes.map((n) => [n.name, n.address || '-', n.live ? 'yes' : 'no', n.last_heartbeat ?? '-', ranges(n.partitions_led)]),
    );
    process.stdout.write('\n');
    printTable(
      ['PARTITION', 'LEADER', 'EPOCH', 'LEASE EXPIRES', 'LIVE'],
      view.partitions.map((p) => [String(p.partition), p.leader ?? '-', p.epoch === null ? '-' : String(p.epoch), p.lease_expires_at ?? '-', p.live ? 'yes' : 'no']),
    );
  });
}

/** `[0,1,2,5,7,8]` → `0-2,5,7-8`: a node's partitions on one line. */
function ranges(ps: readonly number[]): string {
  if (ps.length === 0) return '-';
  const sorted = [...ps].sort((a, b) => a - b);
  const out: string[] = [];
  let start = sorted[0]!;
  let prev = start;
  for (const p of [...sorted.slice(1), Number.NaN]) {
    if (p === prev + 1) {
      prev = p;
      continue;
    }
    out.push(start === prev ? String(start) : `${start}-${prev}`);
    start = p;
    prev = p;
  }
  return out.join(',');
}
