import type { Logger } from 'pino';
import { NOT_LEADER_HEADER, errorResponse, type IngressRequest, type IngressResponse } from '../ingress-http/index.ts';
import type { LeaseStore } from '../store/index.ts';

/** Marks a request one node sent on to another, so that it is forwarded at most once. */
const FORWARDED_HEADER = 'x-endure-forwarded-by';
/** Pause before asking again who leads a partition that is failing over. */
const RETRY_MS = 100;
/** Request headers that belong to one connection and are not sent on. */
const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

/** What the forwarding layer needs. */
export interface ForwardDeps {
  readonly nodeName: string;
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

/** The advertised address of the node whose lease of `partition` is live, unless it is this node. */
async function leaderAddress(deps: ForwardDeps, partition: number): Promise<string | undefined> {
  const now = Date.now();
  const lease = (await deps.leases.listLeases()).find((l) => l.partition === partition);
  if (lease === undefined || lease.expiresAt <= now || lease.leader === deps.nodeName) return undefined;
  const node = (await deps.leases.listNodes(now)).find((n) => n.name === lease.leader);
  return node?.address === '' ? undefined : node?.address;
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
