import type { SchemaRegistry } from '../metadata/index.ts';
import { notFound } from './errors.ts';
import { json } from './http.ts';
import type { AdminRoute } from './router.ts';
import type { ServiceDefaults } from './views.ts';
import { handlerView, serviceView } from './views.ts';

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
