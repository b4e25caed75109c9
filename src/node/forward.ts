import type { Logger } from 'pino';
import type { AdminHandler } from '../admin/index.ts';
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
/** Path prefix of admin requests one node sends on to the leader of their partition. */
const ADMIN_PATH = '/endure/internal/admin/';
/** Header carrying the target node's secret on node-to-node appends and admin requests. */
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
  /** This node's own admin API, which answers admin requests other nodes send on to it. */
  readonly admin?: AdminHandler;
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
    if (req.url.startsWith(ADMIN_PATH)) return adminHere(req, deps);
    return untilLed(deps, {
      attempt: () => local(req),
      forwarded: req.headers[FORWARDED_HEADER] !== undefined,
      forward: (leader) => send(req, leader.address, req.url, deps),
      ...(req.signal ? { signal: req.signal } : {}),
    });
  };
}

/**
 * The admin API of a cluster node: an operation on a partition another node leads (on an
 * invocation, an object's state, a schedule, a flow rule) is sent on to that leader, exactly as
 * ingress requests are: the local admin answers 503 with the not-leader header when its command
 * was fenced (nothing appended), and the request goes to the leader's advertised address under
 * {@link ADMIN_PATH}, carrying the leader's secret, where its own admin API answers it. While the
 * partition fails over, the request waits up to `patienceMs`, then gets 503.
 *
 * Why through the leader's ingress address: it is the one address every node advertises (its
 * `nodes` row), and the secret authenticates the hop as it does for node-to-node appends.
 */
export function forwardingAdmin(local: AdminHandler, deps: ForwardDeps): AdminHandler {
  return (req) =>
    untilLed(deps, {
      attempt: () => local(req),
      forwarded: false,
      forward: (leader) => {
        const query = req.query.toString();
        const url = `${ADMIN_PATH.slice(0, -1)}${req.path}${query === '' ? '' : `?${query}`}`;
        const headers: Record<string, string | undefined> = { ...req.headers, [SECRET_HEADER]: leader.secret };
        return send({ method: req.method, headers, body: req.body }, leader.address, url, deps);
      },
    });
}

/** The admin API of this node, as forwarded admin requests reach it (see {@link forwardingAdmin}). */
async function adminHere(req: IngressRequest, deps: ForwardDeps): Promise<IngressResponse> {
  if (deps.admin === undefined || req.headers[SECRET_HEADER] !== deps.secret || deps.secret === '') {
    return errorResponse(404, 'not found');
  }
  const url = new URL(req.url.slice(ADMIN_PATH.length - 1), 'http://endure.invalid');
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  // Answered by the admin API itself, never forwarded again: a not-leader answer goes back as is,
  // and the forwarding node looks the leader up again.
  return deps.admin({ method: req.method, path: url.pathname, query: url.searchParams, headers, body: req.body });
}

/** A partition's leader as its `nodes` row says. */
interface LeaderNode {
  readonly name: string;
  readonly address: string;
  readonly secret: string;
}

/** One request as the forwarding loop sees it, whichever API it belongs to. */
interface Forwardable<Res extends IngressResponse> {
  /** Serves the request on this node; a not-leader answer means nothing was appended. */
  attempt(): Promise<Res>;
  /** Whether another node already sent this request here (then it is not sent on again). */
  readonly forwarded: boolean;
  /** Sends the request to the node that leads its partition. */
  forward(leader: LeaderNode): Promise<IngressResponse>;
  readonly signal?: AbortSignal;
}

/**
 * The one forwarding loop of a cluster node: try here; on a not-leader answer send the request
 * to the partition's leader; while no node leads it, wait and ask again until `patienceMs`, then
 * answer 503.
 */
async function untilLed<Res extends IngressResponse>(deps: ForwardDeps, req: Forwardable<Res>): Promise<Res | IngressResponse> {
  const deadline = Date.now() + deps.patienceMs;
  for (;;) {
    const res = await req.attempt();
    const partition = res.headers[NOT_LEADER_HEADER];
    if (partition === undefined) return res;
    if (!req.forwarded) {
      const leader = await leaderOf(deps, Number(partition)).catch((err: unknown) => {
        deps.logger.warn({ err, partition }, 'looking up a partition leader failed');
        return undefined;
      });
      if (leader !== undefined) {
        const answer = await req.forward(leader).catch((err: unknown) => {
          deps.logger.warn({ err, partition, address: leader.address }, 'forwarding a request to the partition leader failed');
          return undefined;
        });
        if (answer !== undefined && answer.headers[NOT_LEADER_HEADER] === undefined) return answer;
      }
    }
    if (Date.now() >= deadline || req.signal?.aborted === true) {
      return req.forwarded ? res : errorResponse(503, `no node leads partition ${partition} now; try again shortly`);
    }
    deps.logger.debug({ partition }, 'waiting for a leader of the partition');
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
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

/**
 * Node-to-node appends that reach each partition's log in the order they were asked for.
 *
 * A partition drops a producer's command whose sequence is not above the highest it applied
 * (rule 5: an outbox's messages, a subscription's records). Concurrent requests to another node
 * can overtake each other, and an overtaken command would then be dropped as a repeat although
 * it was never applied. So the appends to one partition go one after the other; when one fails,
 * those queued behind it fail too, without being sent, and their producers retry them in order.
 */
export function orderedAppends(deps: Pick<ForwardDeps, 'nodeName' | 'leases'>): (partition: number, command: Command) => Promise<void> {
  const tails = new Map<number, Promise<void>>();
  return (partition, command) => {
    const previous = tails.get(partition) ?? Promise.resolve();
    const append = previous.then(() => appendOnLeader(deps, partition, command));
    tails.set(partition, append);
    const forget = () => {
      if (tails.get(partition) === append) tails.delete(partition);
    };
    append.then(forget, forget);
    return append;
  };
}

/** The node whose lease of `partition` is live, unless it is this node or advertises no address. */
async function leaderOf(deps: Pick<ForwardDeps, 'nodeName' | 'leases'>, partition: number): Promise<LeaderNode | undefined> {
  const now = Date.now();
  const lease = (await deps.leases.listLeases()).find((l) => l.partition === partition);
  if (lease === undefined || lease.expiresAt <= now || lease.leader === deps.nodeName) return undefined;
  const node = (await deps.leases.listNodes(now)).find((n) => n.name === lease.leader);
  return node === undefined || node.address === '' ? undefined : node;
}

async function send(
  req: Pick<IngressRequest, 'method' | 'headers' | 'body' | 'signal'>,
  address: string,
  url: string,
  deps: Pick<ForwardDeps, 'nodeName'>,
): Promise<IngressResponse> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name.toLowerCase()) || name.startsWith(':')) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  headers.set(FORWARDED_HEADER, deps.nodeName);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const res = await fetch(`http://${address}${url}`, {
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
