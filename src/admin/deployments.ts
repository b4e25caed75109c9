import { isDeploymentIdShape } from '../metadata/index.ts';
import type { DiscoverFn, EndpointManifest, RegisterResult, SchemaRegistry, ServiceSchema } from '../metadata/index.ts';
import { optionalBool, optionalStringMap, parseJsonObject, queryBool } from './body.ts';
import { AdminError, AdminErrorCode, invalidField, notFound } from './errors.ts';
import { empty, json } from './http.ts';
import type { AdminRoute } from './router.ts';
import type { ServiceDefaults } from './views.ts';
import { deploymentView, detailedDeploymentView, registerView } from './views.ts';

/** What the deployment routes need. */
export interface DeploymentRouteDeps {
  registry: SchemaRegistry;
  discover: DiscoverFn;
  defaults: ServiceDefaults;
  discoveryTimeoutMs?: number;
  /** Declarations in the manifest that other modules own (schedules): checked before, applied after registration. */
  registrationHooks?: RegistrationHooks;
}

/** What other modules do with a manifest on registration; `check` throws an AdminError to refuse it. */
export interface RegistrationHooks {
  check(manifest: EndpointManifest): void;
  registered(result: RegisterResult): Promise<void>;
}

function validateUri(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') throw invalidField('uri', 'missing or not a string');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidField('uri', `The provided uri ${raw} is not absolute, only absolute URIs can be used.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidField('uri', `unsupported scheme '${url.protocol.slice(0, -1)}': use http or https`);
  }
  return raw;
}

function discoveryError(uri: string, err: unknown): AdminError {
  const message = err instanceof Error ? err.message : String(err);
  const restateCode =
    err !== null && typeof err === 'object' && 'restateCode' in err && typeof err.restateCode === 'string'
      ? err.restateCode
      : 'META0003';
  // Restate answers a failed discovery with 500 and the discovery error's META code; an
  // answer too large to be a manifest gets the status the discovery error names (413).
  const status =
    err !== null && typeof err === 'object' && 'httpStatus' in err && typeof err.httpStatus === 'number' ? err.httpStatus : 500;
  return new AdminError(
    AdminErrorCode.DiscoveryFailed,
    status,
    `Error when discovering the deployment at '${uri}': ${message}`,
    restateCode,
    { cause: err },
  );
}

/** The `:id` path parameter; 400 (as Restate, but with a JSON body) when it cannot be a deployment id. */
function deploymentIdParam(params: Record<string, string>): string {
  const id = params.id as string;
  if (!isDeploymentIdShape(id)) {
    throw new AdminError(AdminErrorCode.InvalidField, 400, `Invalid deployment id '${id}': expected dp_ followed by 23 base62 characters`);
  }
  return id;
}

function servicesOf(registry: SchemaRegistry, id: string): ServiceSchema[] {
  return registry.getDeploymentServices(id) ?? [];
}

/** The `/deployments` routes. */
export function deploymentRoutes(deps: DeploymentRouteDeps): AdminRoute[] {
  const { registry, defaults } = deps;
  return [
    {
      method: 'POST',
      path: '/deployments',
      async handle(req, { apiVersion }) {
        const body = parseJsonObject(req.body);
        if (body.arn !== undefined) throw invalidField('arn', 'Lambda deployments are not supported');
        const uri = validateUri(body.uri);
        // `force` defaults to true in admin API versions 1 and 2, to false otherwise (as Restate).
        const force = optionalBool(body, 'force') ?? (apiVersion === 1 || apiVersion === 2);
        const breaking = optionalBool(body, 'breaking') ?? false;
        const dryRun = optionalBool(body, 'dry_run') ?? false;
        const useHttp11 = optionalBool(body, 'use_http_11') ?? false;
        const additionalHeaders = optionalStringMap(body, 'additional_headers') ?? {};
        const metadata = optionalStringMap(body, 'metadata') ?? {};
        const legacy = apiVersion === 1 || apiVersion === 2;

        // An endpoint already registered is left alone without discovering it again.
        if (!force) {
          const existing = registry.findDeploymentByUrl(uri);
          if (existing !== undefined) {
            if (legacy) {
              throw new AdminError(AdminErrorCode.Conflict, 409, `Conflict: deployment ${existing.id} already exists`);
            }
            return json(200, registerView(existing, servicesOf(registry, existing.id), defaults), {
              location: `deployments/${existing.id}`,
            });
          }
        }

        let manifest: EndpointManifest;
        try {
          manifest = await deps.discover(uri, {
            useHttp11,
            headers: additionalHeaders,
            ...(deps.discoveryTimeoutMs !== undefined ? { timeoutMs: deps.discoveryTimeoutMs } : {}),
          });
        } catch (err) {
          throw discoveryError(uri, err);
        }
        deps.registrationHooks?.check(manifest);
        const result = await registry.registerDeployment(uri, manifest, {
          useHttp11,
          force,
          breaking,
          dryRun,
          additionalHeaders,
          metadata,
        });
        if (!dryRun) await deps.registrationHooks?.registered(result);
        let status: number;
        if (result.outcome === 'created') status = 201;
        else if (result.outcome === 'overwritten') status = legacy ? 201 : 200;
        else if (legacy) {
          throw new AdminError(AdminErrorCode.Conflict, 409, `Conflict: deployment ${result.deployment.id} already exists`);
        } else status = 200;
        return json(status, registerView(result.deployment, result.services, defaults), {
          location: `deployments/${result.deployment.id}`,
        });
      },
    },
    {
      method: 'GET',
      path: '/deployments',
      handle() {
        const deployments = registry.listDeployments().map((d) => deploymentView(d, servicesOf(registry, d.id)));
        return json(200, { deployments });
      },
    },
    {
      method: 'GET',
      path: '/deployments/:id',
      handle(_req, { params }) {
        const id = deploymentIdParam(params);
        const d = registry.getDeployment(id);
        if (d === undefined) throw notFound(`The requested deployment '${id}' does not exist`);
        return json(200, detailedDeploymentView(d, servicesOf(registry, id), defaults));
      },
    },
    {
      method: 'PATCH',
      path: '/deployments/:id',
      async handle(req, { params }) {
        const id = deploymentIdParam(params);
        const body = parseJsonObject(req.body);
        if (body.arn !== undefined) throw invalidField('arn', 'Lambda deployments are not supported');
        const current = registry.getDeployment(id);
        if (current === undefined) throw notFound(`The requested deployment '${id}' does not exist`);
        const uri = body.uri === undefined || body.uri === null ? current.url : validateUri(body.uri);
        const useHttp11 = optionalBool(body, 'use_http_11') ?? current.useHttp11;
        const additionalHeaders = optionalStringMap(body, 'additional_headers') ?? current.additionalHeaders;
        const dryRun = optionalBool(body, 'dry_run') ?? false;
        let manifest: EndpointManifest;
        try {
          manifest = await deps.discover(uri, {
            useHttp11,
            headers: additionalHeaders,
            ...(deps.discoveryTimeoutMs !== undefined ? { timeoutMs: deps.discoveryTimeoutMs } : {}),
          });
        } catch (err) {
          throw discoveryError(uri, err);
        }
        const updated = await registry.updateDeployment(id, uri, manifest, { useHttp11, additionalHeaders, dryRun });
        return json(200, detailedDeploymentView(updated.deployment, updated.services, defaults));
      },
    },
    {
      method: 'DELETE',
      path: '/deployments/:id',
      async handle(req, { params }) {
        // As Restate: only forced deletion is implemented; without it the answer is 501.
        if (queryBool(req.query, 'force') !== true) {
          throw new AdminError(
            AdminErrorCode.NotImplemented,
            501,
            'Graceful deployment deletion is not supported; use force=true (this can break in-flight invocations)',
          );
        }
        await registry.removeDeployment(deploymentIdParam(params), { force: true });
        return empty(202);
      },
    },
  ];
}
