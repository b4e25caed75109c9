/**
 * The HTTP ingress: parses service / handler / key / idempotency key, checks the target against
 * the schema registry, and appends commands to the owning partition's log; then waits for the
 * partition's answer. It never touches the store, and rejects bad input before appending.
 */
export { createIngressHandler, errorResponse, type IngressDeps, type IngressRequest, type IngressResponse, type TargetLookup } from './handler.ts';
export { listenHttp, type HttpListener } from './server.ts';
export { ResponseRegistry } from './responses.ts';
export { IngressError, NOT_LEADER_HEADER } from './errors.ts';
export { parseDelay } from './delay.ts';
