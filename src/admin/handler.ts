import type { Logger } from '../common/logger.ts';
import { scrapeMetrics } from '../common/metrics.ts';
import { DEFAULT_CONFIG } from '../config/index.ts';
import type { DiscoverFn, SchemaRegistry } from '../metadata/index.ts';
import type { QueryEngine } from '../store/index.ts';
import { deploymentRoutes, type RegistrationHooks } from './deployments.ts';
import { AdminError, AdminErrorCode, errorResponse, notFound } from './errors.ts';
import { empty, json } from './http.ts';
import type { AdminHandler, AdminRequest, AdminResponse } from './http.ts';
import { Router } from './router.ts';
import type { AdminRoute } from './router.ts';
import { queryRoutes } from './query.ts';
import { serviceRoutes } from './services.ts';
import type { ServiceDefaults } from './views.ts';

/**
 * The Restate server version whose admin API Endure serves, reported as `version` by
 * `/version`: Restate's CLI picks its query shapes from it (1.5 and later) and its admin API
 * version from `max_admin_api_version`. Endure's own version is `endure_version`.
 */
export const RESTATE_COMPATIBLE_VERSION = '1.7.0';

/** Admin API versions served (as Restate: /v2 … /v4 prefixes, or none). */
export const MIN_ADMIN_API_VERSION = 2;
export const MAX_ADMIN_API_VERSION = 4;

/** What the admin API needs. */
export interface AdminDeps {
  registry: SchemaRegistry;
  discover: DiscoverFn;
  /** Endure's version, reported by `/version` as `endure_version`. */
  version: string;
  /** Server defaults shown for services that do not override them. */
  defaults?: ServiceDefaults;
  /** Advertised ingress URL reported by `/version`. */
  ingressUrl?: string;
  /** Timeout of a discovery request. */
  discoveryTimeoutMs?: number;
  /** Runs `POST /query`; without one the route does not exist. */
  query?: QueryEngine;
  /** Declarations in manifests that other modules own (schedules). */
  registrationHooks?: RegistrationHooks;
  /** More routes (invocations, state, query...), matched after the built-in ones. */
  extraRoutes?: readonly AdminRoute[];
  /** Why the node cannot take writes now (its store refuses them), or undefined when it can. */
  unhealthy?: () => string | undefined;
  /** Called for paths no route knows, before answering 404. */
  fallback?: AdminHandler;
  logger?: Logger;
}

const VERSION_PREFIX = /^\/v(\d+)(?=\/|$)/;

/**
 * The admin API as a function of a request: deployments, services, subscriptions, `/query`,
 * health, version and metrics, with Restate's paths, status codes and JSON shapes. A bad
 * request is answered with a 4xx and changes nothing.
 */
export function createAdminHandler(deps: AdminDeps): AdminHandler {
  const defaults: ServiceDefaults = deps.defaults ?? DEFAULT_CONFIG;
  const system: AdminRoute[] = [
    {
      method: 'GET',
      path: '/health',
      handle: () => {
        const problem = deps.unhealthy?.();
        return problem === undefined ? empty(200) : json(503, { code: 503, message: problem });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handle: async () => {
        const m = await scrapeMetrics();
        return { status: 200, headers: { 'content-type': m.contentType }, body: m.text };
      },
    },
    {
      method: 'GET',
      path: '/version',
      handle: () =>
        json(200, {
          version: RESTATE_COMPATIBLE_VERSION,
          endure_version: deps.version,
          min_admin_api_version: MIN_ADMIN_API_VERSION,
          max_admin_api_version: MAX_ADMIN_API_VERSION,
          ...(deps.ingressUrl !== undefined ? { ingress_endpoint: deps.ingressUrl } : {}),
          features: {},
        }),
    },
  ];
  const router = new Router([
    ...system,
    ...deploymentRoutes({
      registry: deps.registry,
      discover: deps.discover,
      defaults,
      ...(deps.discoveryTimeoutMs !== undefined ? { discoveryTimeoutMs: deps.discoveryTimeoutMs } : {}),
      ...(deps.registrationHooks !== undefined ? { registrationHooks: deps.registrationHooks } : {}),
    }),
    ...serviceRoutes(deps.registry, defaults),
    ...(deps.query !== undefined ? queryRoutes(deps.query) : []),
    ...(deps.extraRoutes ?? []),
  ]);

  return async (req: AdminRequest): Promise<AdminResponse> => {
    try {
      let path = req.path;
      let apiVersion = 0;
      const prefix = VERSION_PREFIX.exec(path);
      if (prefix !== null) {
        apiVersion = Number(prefix[1]);
        if (apiVersion < MIN_ADMIN_API_VERSION || apiVersion > MAX_ADMIN_API_VERSION) {
          throw new AdminError(
            AdminErrorCode.UnsupportedApiVersion,
            400,
            `Admin API version ${apiVersion} is not supported; supported versions are ${MIN_ADMIN_API_VERSION} to ${MAX_ADMIN_API_VERSION}`,
          );
        }
        path = path.slice(prefix[0].length) || '/';
      }
      const method = req.method.toUpperCase();
      const match = router.match(method, path);
      if (match === undefined) {
        if (deps.fallback !== undefined) return await deps.fallback({ ...req, path });
        throw notFound(`No route for ${method} ${path}`);
      }
      if (!('route' in match)) return match;
      const res = await match.route.handle({ ...req, path }, { params: match.params, apiVersion });
      return method === 'HEAD' ? { ...res, body: '' } : res;
    } catch (err) {
      const res = errorResponse(err);
      if (res.status >= 500) deps.logger?.warn({ err, method: req.method, path: req.path }, 'admin request failed');
      return res;
    }
  };
}
