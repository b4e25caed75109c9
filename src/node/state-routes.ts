import { json, empty, type AdminRequest, type AdminResponse, type AdminRoute } from '../admin/index.ts';
import type { ResponseRegistry } from '../ingress-http/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import { partitionKeyOf } from '../types/index.ts';
import type { Command, IngressAnswer } from '../worker/index.ts';
import type { Targets } from './targets.ts';

/** What the state route needs from the node. */
export interface StateRouteDeps {
  readonly nodeId: string;
  readonly partitioner: Partitioner;
  readonly responses: ResponseRegistry;
  readonly targets: Targets;
  readonly submit: (partition: number, command: Command) => Promise<void>;
}

/**
 * `POST /services/{service}/state`, Restate's state modification: `{ object_key, new_state }`
 * (each value an array of bytes) replaces the key's whole state. The change is a command on the
 * key's partition log (rule 1), answered 202 once applied. Unlike Restate, which queues the
 * change behind a running invocation, Endure answers 409 while an invocation holds the key, and
 * does not support the optimistic `version` check.
 */
export function stateRoutes(deps: StateRouteDeps): AdminRoute[] {
  return [{ method: 'POST', path: '/services/:service/state', handle: (req, ctx) => patchState(deps, req, ctx.params.service ?? '') }];
}

function badRequest(message: string): AdminResponse {
  return json(400, { code: 400, message });
}

async function patchState(deps: StateRouteDeps, req: AdminRequest, service: string): Promise<AdminResponse> {
  const found = deps.targets.lookup(service);
  if (!found) return json(404, { code: 404, message: `service '${service}' not found` });
  if (found.ty !== 'VIRTUAL_OBJECT' && found.ty !== 'WORKFLOW') {
    return badRequest(`service '${service}' is not a virtual object or workflow: it has no state`);
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(req.body));
  } catch {
    return badRequest('the request body must be JSON: { "object_key": string, "new_state": { name: [bytes] } }');
  }
  if (typeof body !== 'object' || body === null) return badRequest('the request body must be a JSON object');
  const { object_key: key, new_state: newState, version } = body as Record<string, unknown>;
  if (typeof key !== 'string') return badRequest("the request field 'object_key' must be a string");
  if (version !== undefined && version !== null) return badRequest("the request field 'version' is not supported by Endure");
  if (typeof newState !== 'object' || newState === null || Array.isArray(newState)) {
    return badRequest("the request field 'new_state' must be an object of state names to byte arrays");
  }
  const state: [Uint8Array, Uint8Array][] = [];
  for (const [name, value] of Object.entries(newState)) {
    if (!Array.isArray(value) || !value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      return badRequest(`the value of state entry '${name}' must be an array of bytes (integers 0..255)`);
    }
    state.push([new TextEncoder().encode(name), Uint8Array.from(value as number[])]);
  }

  const partition = deps.partitioner.partitionOf(partitionKeyOf(key));
  const waiter = deps.responses.register();
  try {
    await deps.submit(partition, {
      kind: 'patch-state',
      service,
      key,
      state,
      sink: { kind: 'ingress', node: deps.nodeId, requestId: waiter.requestId },
    });
  } catch (err) {
    waiter.cancel();
    return json(503, { code: 503, message: `cannot reach the partition: ${err instanceof Error ? err.message : String(err)}` });
  }
  const answer: IngressAnswer = await waiter.answer;
  if (answer.kind !== 'state-patched') return json(500, { code: 500, message: 'unexpected answer' });
  if (answer.outcome === 'locked') {
    return json(409, { code: 409, message: `${service}/${key} is locked by a running invocation; retry once it has completed` });
  }
  return empty(202);
}
