import { AdminError, AdminErrorCode, empty, json, type AdminResponse, type AdminRoute } from '../admin/index.ts';
import type { ResponseRegistry } from '../ingress-http/index.ts';
import type { SchemaRegistry } from '../metadata/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import { partitionKeyOf } from '../types/index.ts';
import { NotLeaderError, type Command, type IngressAnswer } from '../worker/index.ts';

/** What the state route needs from the node. */
export interface StateRouteDeps {
  readonly nodeId: string;
  readonly partitioner: Partitioner;
  readonly responses: ResponseRegistry;
  readonly registry: SchemaRegistry;
  readonly submit: (partition: number, command: Command) => Promise<void>;
}

function invalid(field: string, reason: string): AdminError {
  return new AdminError(AdminErrorCode.InvalidField, 400, `The request field '${field}' is invalid. Reason: ${reason}`);
}

/** The body of `POST /services/{service}/state`: `{version?, object_key, new_state: {key: [bytes]}}`. */
function parseBody(body: Uint8Array): { key: string; version: string | undefined; entries: [Uint8Array, Uint8Array][] } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw new AdminError(AdminErrorCode.InvalidBody, 400, `Invalid JSON body: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AdminError(AdminErrorCode.InvalidBody, 400, 'Invalid JSON body: expected a JSON object');
  }
  const o = value as Record<string, unknown>;
  if (typeof o.object_key !== 'string') throw invalid('object_key', 'missing or not a string');
  if (o.version !== undefined && o.version !== null && typeof o.version !== 'string') throw invalid('version', 'expected a string or null');
  const state = o.new_state;
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw invalid('new_state', 'expected an object of byte arrays');
  const entries: [Uint8Array, Uint8Array][] = [];
  for (const [name, bytes] of Object.entries(state)) {
    if (!Array.isArray(bytes) || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      throw invalid('new_state', `the value of '${name}' must be an array of bytes (integers 0 to 255)`);
    }
    entries.push([new TextEncoder().encode(name), Uint8Array.from(bytes as number[])]);
  }
  return { key: o.object_key, version: typeof o.version === 'string' ? o.version : undefined, entries };
}

/**
 * `POST /services/{service}/state`: replaces the whole state of one virtual object or workflow
 * key, as Restate's CLI does for `state patch/edit/clear`. The change is a command on the key's
 * partition log (rule 1). It is refused with 409 while an invocation holds the key, and when
 * `version` no longer matches the state (someone changed it since it was read).
 */
export function stateRoutes(deps: StateRouteDeps): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/services/:service/state',
      handle: async (req, ctx): Promise<AdminResponse> => {
        const service = ctx.params.service ?? '';
        const schema = deps.registry.getService(service);
        if (schema === undefined) throw new AdminError(AdminErrorCode.NotFound, 404, `The requested service '${service}' does not exist`);
        if (schema.ty === 'SERVICE') {
          throw new AdminError(AdminErrorCode.InvalidField, 400, `The service '${service}' has no state: only virtual objects and workflows do`);
        }
        const { key, version, entries } = parseBody(req.body);
        const waiter = deps.responses.register();
        try {
          await deps.submit(deps.partitioner.partitionOf(partitionKeyOf(key)), {
            kind: 'state-mutation',
            service,
            key,
            entries,
            ...(version !== undefined ? { version } : {}),
            sink: { kind: 'ingress', node: deps.nodeId, requestId: waiter.requestId },
          });
        } catch (err) {
          waiter.cancel();
          if (err instanceof NotLeaderError) throw err;
          return json(503, { code: 503, message: `cannot reach the partition: ${err instanceof Error ? err.message : String(err)}`, restate_code: null });
        }
        const answer: IngressAnswer = await waiter.answer;
        if (answer.kind !== 'state') throw new Error('unexpected answer to a state mutation');
        switch (answer.outcome) {
          case 'done':
            return empty(202);
          case 'busy':
            throw new AdminError(
              AdminErrorCode.Conflict,
              409,
              `The key '${key}' of '${service}' is in use by invocation ${answer.holder ?? ''}; try again once it completes`,
            );
          case 'version-mismatch':
            throw new AdminError(AdminErrorCode.Conflict, 409, `The state of '${service}/${key}' changed since it was read (version mismatch)`);
        }
      },
    },
  ];
}
