import type { SchemaRegistry, ServiceModification } from '../metadata/index.ts';
import { optionalBool, parseJsonObject } from './body.ts';
import { parseFriendlyDuration } from './duration.ts';
import { invalidField, notFound } from './errors.ts';
import { json } from './http.ts';
import { serviceOpenApi } from './openapi.ts';
import type { AdminRoute } from './router.ts';
import type { ServiceDefaults } from './views.ts';
import { handlerView, serviceView } from './views.ts';

const MODIFIABLE_DURATIONS = [
  ['idempotency_retention', 'idempotencyRetentionMs'],
  ['workflow_completion_retention', 'workflowCompletionRetentionMs'],
  ['journal_retention', 'journalRetentionMs'],
  ['inactivity_timeout', 'inactivityTimeoutMs'],
  ['abort_timeout', 'abortTimeoutMs'],
] as const;

function parseModification(body: Uint8Array): ServiceModification {
  const obj = parseJsonObject(body);
  const changes: ServiceModification = {};
  const isPublic = optionalBool(obj, 'public');
  if (isPublic !== undefined) changes.public = isPublic;
  for (const [field, key] of MODIFIABLE_DURATIONS) {
    const raw = obj[field];
    if (raw === undefined || raw === null) continue;
    const ms = typeof raw === 'string' ? parseFriendlyDuration(raw) : undefined;
    if (ms === undefined) {
      throw invalidField(field, `expected a duration such as "5 hours", "1h 30m" or "PT5H", got ${JSON.stringify(raw)}`);
    }
    changes[key] = ms;
  }
  return changes;
}

/** The `/services` routes. */
export function serviceRoutes(registry: SchemaRegistry, defaults: ServiceDefaults): AdminRoute[] {
  const service = (name: string) => {
    const s = registry.getService(name);
    if (s === undefined) throw notFound(`The requested service '${name}' does not exist`);
    return s;
  };
  return [
    {
      method: 'GET',
      path: '/services',
      handle: () => json(200, { services: registry.listServices().map((s) => serviceView(s, defaults)) }),
    },
    {
      method: 'GET',
      path: '/services/:service',
      handle: (_req, { params }) => json(200, serviceView(service(params.service as string), defaults)),
    },
    {
      method: 'PATCH',
      path: '/services/:service',
      async handle(req, { params }) {
        const name = params.service as string;
        const changes = parseModification(req.body);
        if (Object.keys(changes).length === 0) return json(200, serviceView(service(name), defaults));
        return json(200, serviceView(await registry.modifyService(name, changes), defaults));
      },
    },
    {
      method: 'GET',
      path: '/services/:service/openapi',
      handle: (_req, { params }) => json(200, serviceOpenApi(service(params.service as string))),
    },
    {
      method: 'GET',
      path: '/services/:service/handlers',
      handle: (_req, { params }) =>
        json(200, { handlers: [...service(params.service as string).handlers.values()].map(handlerView) }),
    },
    {
      method: 'GET',
      path: '/services/:service/handlers/:handler',
      handle(_req, { params }) {
        const name = params.service as string;
        const h = service(name).handlers.get(params.handler as string);
        if (h === undefined) {
          throw notFound(`The requested handler '${params.handler}' on service '${name}' does not exist`);
        }
        return json(200, handlerView(h));
      },
    },
  ];
}
