import type { Logger } from 'pino';
import { NOT_LEADER_HEADER, errorResponse, type IngressRequest, type IngressResponse } from '../ingress-http/index.ts';
import { decodeCommand, encodeCommand } from '../log/index.ts';
import type { LeaseStore } from '../store/index.ts';
import { NotLeaderError, type Command } from '../worker/index.ts';

/** Marks a request one node sent on to another, so that it is forwarded at most once. */
const FORWARDED_HEADER = 'x-endure-forwarded-by';
/** Pause before asking again who leads a partition that is failing over. */
const RETRY_MS = 100;
/** Request headers that belong to one connection and are not sent on. */
const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

/** Path of node-to-node appends: `POST {APPEND_PATH}{partition}` with an encoded command. */
const APPEND_PATH = '/endure/internal/append/';
/** Header carrying the target node's secret on node-to-node appends. */
const SECRET_HEADER = 'x-endure-node-secret';

/** What the forwarding layer needs. */
export interface ForwardDeps {
  readonly nodeName: string;
  /** This process's secret (its `nodes` row): node-to-node appends to it must carry it. */
  readonly secret: string;
  /** Appends a command to a partition this node leads (rejects with NotLeaderError otherwise). */
  readonly submit: (partition: number, command: Command) => Promise<void>;
  readonly leases: LeaseStore;
  /** How long to look for a leader before answering 503: a lease's length and a little more. */
  readonly patienceMs: number;
  readonly logger: Logger;
}

/**
 * Any node serves any request (cluster mode): a request whose partition another node leads is
 * sent on to that leader's advertised ingress address, and the leader's answer comes back as is.
 *
 * The local ingress tries first: when it answers 503 with the not-leader header, its command was
 * fenced and nothing was appended, so sending the same request elsewhere cannot duplicate it.
 * While a partition fails over (no live lease yet), the layer waits and asks again, up to
 * `patienceMs`. A forwarded request is never forwarded again: the leader answers it itself.
 *
 * Why forwarding over HTTP and not an inbox row any node inserts: the partition's log is
 * appended by its leader's commit loop (appending and applying share one transaction), and the
 * answer is addressed to the waiting node's in-memory sink; forwarding keeps both as they are
 * and costs one hop, which a load balancer in front of the nodes mostly avoids anyway.
 */
export function forwardingIngress(
  local: (req: IngressRequest) => Promise<IngressResponse>,
  deps: ForwardDeps,
): (req: IngressRequest) => Promise<IngressResponse> {
  return async (req) => {
    if (req.url.startsWith(APPEND_PATH)) return appendHere(req, deps);
    const deadline = Date.now() + deps.patienceMs;
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    for (;;) {
      const res = await local(req);
      const partition = res.headers[NOT_LEADER_HEADER];
      if (partition === undefined) return res;
      if (!forwarded) {
        const address = await leaderAddress(deps, Number(partition)).catch((err: unknown) => {
          deps.logger.warn({ err, partition }, 'looking up a partition leader failed');
          return undefined;
        });
        if (address !== undefined) {
          const answer = await send(req, address, deps).catch((err: unknown) => {
            deps.logger.warn({ err, partition, address }, 'forwarding a request to the partition leader failed');
            return undefined;
          });
          if (answer !== undefined && answer.headers[NOT_LEADER_HEADER] === undefined) return answer;
        }
      }
      if (Date.now() >= deadline || req.signal?.aborted === true) {
        return forwarded ? res : errorResponse(503, `no node leads partition ${partition} now; try again shortly`);
      }
      deps.logger.debug({ partition }, 'waiting for a leader of the partition');
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  };
}

/**
 * Serves a node-to-node append: the command goes into this node's commit loop, fenced like any
 * other, so a node that lost the partition meanwhile answers 503 with the not-leader header.
 */
async function appendHere(req: IngressRequest, deps: ForwardDeps): Promise<IngressResponse> {
  if (req.method !== 'POST' || req.headers[SECRET_HEADER] !== deps.secret || deps.secret === '') {
    return errorResponse(404, 'not found');
  }
  const partition = Number(req.url.slice(APPEND_PATH.length));
  let command: Command;
  try {
    command = decodeCommand(req.body).command;
  } catch (err) {
    return errorResponse(400, `cannot decode the command: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    await deps.submit(partition, command);
    return { status: 200, headers: {}, body: '' };
  } catch (err) {
    const res = errorResponse(503, err instanceof Error ? err.message : String(err));
    if (err instanceof NotLeaderError) res.headers[NOT_LEADER_HEADER] = String(partition);
    return res;
  }
}

/**
 * Appends `command` to `partition`'s log through the node that leads it (the outbox shuffle's
 * deliveries to partitions this node does not lead). Resolves once the leader committed it;
 * rejects when no node leads it now or the leader refused: the caller retries, and the command's
 * dedup id makes a repeated delivery harmless.
 */
export async function appendOnLeader(deps: Pick<ForwardDeps, 'nodeName' | 'leases'>, partition: number, command: Command): Promise<void> {
  const leader = await leaderOf(deps, partition);
  if (leader === undefined) throw new NotLeaderError(partition, undefined, undefined);
  const res = await fetch(`http://${leader.address}${APPEND_PATH}${partition}`, {
    method: 'POST',
    headers: { [SECRET_HEADER]: leader.secret, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(encodeCommand(command)),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`node ${leader.name} refused an append to partition ${partition}: ${res.status} ${text}`);
}

/** The node whose lease of `partition` is live, unless it is this node or advertises no address. */
async function leaderOf(
  deps: Pick<ForwardDeps, 'nodeName' | 'leases'>,
  partition: number,
): Promise<{ name: string; address: string; secret: string } | undefined> {
  const now = Date.now();
  const lease = (await deps.leases.listLeases()).find((l) => l.partition === partition);
  if (lease === undefined || lease.expiresAt <= now || lease.leader === deps.nodeName) return undefined;
  const node = (await deps.leases.listNodes(now)).find((n) => n.name === lease.leader);
  return node === undefined || node.address === '' ? undefined : node;
}

/** The advertised address of the node whose lease of `partition` is live, unless it is this node. */
async function leaderAddress(deps: ForwardDeps, partition: number): Promise<string | undefined> {
  return (await leaderOf(deps, partition))?.address;
}

async function send(req: IngressRequest, address: string, deps: ForwardDeps): Promise<IngressResponse> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name.toLowerCase()) || name.startsWith(':')) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  headers.set(FORWARDED_HEADER, deps.nodeName);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const res = await fetch(`http://${address}${req.url}`, {
    method: req.method,
    headers,
    ...(hasBody ? { body: new Uint8Array(req.body) } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k) && k !== 'content-encoding') out[k] = v;
  });
  return { status: res.status, headers: out, body: new Uint8Array(await res.arrayBuffer()) };
}
