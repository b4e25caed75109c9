import { AdminError, AdminErrorCode, empty, json, type AdminRoute } from '../admin/index.ts';
import { SubscriptionError } from './model.ts';
import type { CreateSubscription, SubscriptionService } from './service.ts';

/** Maps subscription errors onto the admin API's `{code, message}` answers. */
async function answering<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SubscriptionError) {
      throw new AdminError(err.status === 404 ? AdminErrorCode.NotFound : AdminErrorCode.InvalidField, err.status, err.message);
    }
    throw err;
  }
}

function invalidBody(message: string): AdminError {
  return new AdminError(AdminErrorCode.InvalidBody, 400, message);
}

/** Reads Restate's `CreateSubscriptionRequest`; 400 for anything else. */
function parseCreate(body: Uint8Array): CreateSubscription {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw invalidBody(`Invalid JSON body: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidBody('Invalid JSON body: expected a JSON object');
  const { source, sink, options } = value as Record<string, unknown>;
  if (typeof source !== 'string' || source === '') throw invalidBody("Invalid JSON body: missing field 'source' (e.g. nats://<cluster>/<subject>)");
  if (typeof sink !== 'string' || sink === '') throw invalidBody("Invalid JSON body: missing field 'sink' (e.g. service://<service>/<handler>)");
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object' || Array.isArray(options)) throw invalidBody("Invalid JSON body: 'options' must be an object of strings");
    for (const [k, v] of Object.entries(options)) {
      if (typeof v !== 'string') throw invalidBody(`Invalid JSON body: option '${k}' must be a string`);
    }
  }
  return { source, sink, ...(options ? { options: options as Record<string, string> } : {}) };
}

/** The `/subscriptions` routes of the admin API, in Restate's shapes (201 + location, 202 on delete). */
export function subscriptionRoutes(service: SubscriptionService): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/subscriptions',
      handle: (req) =>
        answering(async () => {
          const view = await service.create(parseCreate(req.body));
          return json(201, view, { location: `/subscriptions/${view.id}` });
        }),
    },
    {
      method: 'GET',
      path: '/subscriptions',
      handle: (req) =>
        answering(async () => {
          const filter: { sink?: string; source?: string } = {};
          const sink = req.query.get('sink');
          const source = req.query.get('source');
          if (sink !== null) filter.sink = sink;
          if (source !== null) filter.source = source;
          return json(200, { subscriptions: await service.list(filter) });
        }),
    },
    {
      method: 'GET',
      path: '/subscriptions/:id',
      handle: (_req, ctx) => answering(async () => json(200, await service.get(ctx.params.id as string))),
    },
    {
      method: 'DELETE',
      path: '/subscriptions/:id',
      handle: (_req, ctx) =>
        answering(async () => {
          await service.delete(ctx.params.id as string);
          return empty(202);
        }),
    },
  ];
}
