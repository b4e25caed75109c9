import { connect, type Ingress } from '@restatedev/restate-sdk-clients';
import type { IngressRequest, IngressResponse } from '../ingress-http/index.ts';

/**
 * The base URL the in-process client is given. The `.invalid` top-level domain never resolves
 * (RFC 2606): a request that reached the network by mistake would fail instead of going elsewhere.
 */
export const IN_PROCESS_INGRESS_URL = 'http://ingress.endure.invalid';

/**
 * A `fetch` that hands each request to the ingress handler of this process: no socket, the same
 * URL shapes, status codes and headers as the HTTP ingress, so any client written for Restate's
 * ingress works through it.
 */
export function inProcessFetch(ingress: (req: IngressRequest) => Promise<IngressResponse>): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const payload = request.body === null ? new Uint8Array() : new Uint8Array(await request.arrayBuffer());
    const res = await ingress({ method: request.method, url: `${url.pathname}${url.search}`, headers, body: payload, signal: request.signal });
    // A Response refuses a body with a status that has none.
    const empty = res.status === 204 || res.status === 304 || request.method === 'HEAD';
    const body = typeof res.body === 'string' ? res.body : new Uint8Array(res.body);
    return new Response(empty ? null : body, { status: res.status, headers: res.headers });
  };
}

/**
 * The typed client of `@restatedev/restate-sdk-clients` (`serviceClient`, `objectClient`,
 * `workflowClient`, the send clients, `result`, awakeables), its requests served in-process.
 */
export function inProcessClient(ingress: (req: IngressRequest) => Promise<IngressResponse>): Ingress {
  return connect({ url: IN_PROCESS_INGRESS_URL, fetch: inProcessFetch(ingress) });
}
