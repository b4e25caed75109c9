import type { MetadataStore, ServiceRecord } from '../store/metadata.ts';
import { buildService } from './build.ts';
import { decodeDeployment, deepFreeze, encodeDeployment, encodeService } from './codec.ts';
import type { StoredDeployment } from './codec.ts';
import { MetadataError, MetadataErrorCode } from './errors.ts';
import { newDeploymentId } from './ids.ts';
import type { EndpointManifest } from './manifest.ts';
import type { DeploymentSchema, HandlerSchema, ServiceSchema } from './schema.ts';

/** Options of a deployment registration (the admin API's `force`, `breaking`, `dry_run`...). */
export interface RegisterOptions {
  useHttp11?: boolean;
  /** Overwrite a deployment registered under the same URL (implies `breaking`). */
  force?: boolean;
  /** Allow incompatible new revisions, e.g. a service changing type. */
  breaking?: boolean;
  /** Compute the outcome without changing anything. */
  dryRun?: boolean;
  additionalHeaders?: Record<string, string>;
  metadata?: Record<string, string>;
}

/** What a registration did: as Restate's AddDeploymentResult. */
export type RegisterOutcome = 'created' | 'unchanged' | 'overwritten';

/** The result of a registration. */
export interface RegisterResult {
  outcome: RegisterOutcome;
  deployment: DeploymentSchema;
  /** The revisions of the deployment's services. */
  services: ServiceSchema[];
}

/** Operator changes to the active revision of a service (Restate's ModifyServiceRequest). */
export interface ServiceModification {
  public?: boolean;
  idempotencyRetentionMs?: number;
  /** Workflow services only. */
  workflowCompletionRetentionMs?: number;
  journalRetentionMs?: number;
  inactivityTimeoutMs?: number;
  abortTimeoutMs?: number;
}

/** An immutable view of the registry; replaced wholesale on every change. */
interface Snapshot {
  deployments: Map<string, StoredDeployment>;
  /** Active revision per service: the highest revision across deployments. */
  services: Map<string, ServiceSchema>;
}

/** Two deployment URLs address the same endpoint when authority and path match (as Restate). */
function sameEndpoint(a: string, b: string): boolean {
  try {
    const ua = new URL(a);
    const ub = new URL(b);
    return ua.host === ub.host && ua.pathname.replace(/\/+$/, '') === ub.pathname.replace(/\/+$/, '');
  } catch {
    return a === b;
  }
}

function activeIndex(deployments: Iterable<StoredDeployment>): Map<string, ServiceSchema> {
  const active = new Map<string, ServiceSchema>();
  for (const d of deployments) {
    for (const s of d.services) {
      const current = active.get(s.name);
      if (current === undefined || current.revision < s.revision) active.set(s.name, s);
    }
  }
  return active;
}

function serviceRecord(s: ServiceSchema): ServiceRecord {
  return { name: s.name, revision: s.revision, deploymentId: s.deploymentId, data: encodeService(s) };
}

/**
 * The schema registry: which deployments exist, which services and handlers they expose, and
 * which revision of each service is active. Lookups are synchronous reads of an in-memory
 * snapshot (they sit on every request's path); changes are persisted through the MetadataStore
 * first and only then become visible, one at a time.
 */
export class SchemaRegistry {
  private snapshot: Snapshot;
  /** Serialises changes so each one is computed from the state the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: MetadataStore,
    deployments: StoredDeployment[],
  ) {
    const map = new Map(deployments.map((d) => [d.deployment.id, d] as const));
    this.snapshot = { deployments: map, services: activeIndex(map.values()) };
  }

  /** Loads the registry from its store. */
  static async open(store: MetadataStore): Promise<SchemaRegistry> {
    const { deployments } = await store.load();
    return new SchemaRegistry(
      store,
      deployments.map((r) => decodeDeployment(r.data)),
    );
  }

  /**
   * Re-reads the registry from its store: how a node of a cluster sees deployments registered
   * through the other nodes. Queued behind this node's own changes, like them.
   */
  reload(): Promise<void> {
    return this.serialise(async () => {
      const { deployments } = await this.store.load();
      const map = new Map(deployments.map((r) => decodeDeployment(r.data)).map((d) => [d.deployment.id, d] as const));
      this.snapshot = { deployments: map, services: activeIndex(map.values()) };
    });
  }

  /** The active revision of a service. */
  getService(name: string): ServiceSchema | undefined {
    return this.snapshot.services.get(name);
  }

  /** A handler of the active revision of a service. */
  getHandler(service: string, handler: string): HandlerSchema | undefined {
    return this.snapshot.services.get(service)?.handlers.get(handler);
  }

  /** Active revisions of all services, by name. */
  listServices(): ServiceSchema[] {
    return [...this.snapshot.services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A deployment by id. */
  getDeployment(id: string): DeploymentSchema | undefined {
    return this.snapshot.deployments.get(id)?.deployment;
  }

  /** All deployments, oldest first. */
  listDeployments(): DeploymentSchema[] {
    return [...this.snapshot.deployments.values()]
      .map((d) => d.deployment)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** The service revisions a deployment holds (which may be older than the active ones). */
  getDeploymentServices(id: string): ServiceSchema[] | undefined {
    return this.snapshot.deployments.get(id)?.services;
  }

  /** The revision of a service held by a given deployment (for invocations pinned to it). */
  getServiceRevision(deploymentId: string, service: string): ServiceSchema | undefined {
    return this.snapshot.deployments.get(deploymentId)?.services.find((s) => s.name === service);
  }

  /** The most recent deployment registered for the same endpoint URL, if any. */
  findDeploymentByUrl(url: string): DeploymentSchema | undefined {
    let found: DeploymentSchema | undefined;
    for (const { deployment } of this.snapshot.deployments.values()) {
      if (sameEndpoint(deployment.url, url) && (found === undefined || found.createdAt <= deployment.createdAt)) {
        found = deployment;
      }
    }
    return found;
  }

  /**
   * Registers the services discovered at `url`. As Restate: a URL already registered is left
   * unchanged unless `force`, which overwrites that deployment in place (same id); each
   * (re)registered service gets the next revision and becomes active; a service changing type is
   * refused (409) unless `force` or `breaking`.
   */
  registerDeployment(url: string, manifest: EndpointManifest, opts: RegisterOptions = {}): Promise<RegisterResult> {
    return this.serialise(async () => {
      const existing = this.findDeploymentByUrl(url);
      if (existing !== undefined && opts.force !== true) {
        const stored = this.snapshot.deployments.get(existing.id) as StoredDeployment;
        return { outcome: 'unchanged' as const, deployment: stored.deployment, services: stored.services };
      }
      const allowBreaking = opts.force === true || opts.breaking === true;
      const id = existing?.id ?? newDeploymentId();
      const seen = new Set<string>();
      const services: ServiceSchema[] = [];
      for (const m of manifest.services ?? []) {
        if (seen.has(m.name)) {
          throw new MetadataError(MetadataErrorCode.InvalidManifest, `duplicate service '${m.name}' in the manifest`);
        }
        seen.add(m.name);
        const previous = this.snapshot.services.get(m.name);
        if (previous !== undefined && previous.ty !== m.ty && !allowBreaking) {
          throw new MetadataError(
            MetadataErrorCode.ServiceTypeChanged,
            `detected a new service revision for '${m.name}' changing the service type from previous revision. Service type cannot be changed across revisions.`,
          );
        }
        services.push(deepFreeze(buildService(m, (previous?.revision ?? 0) + 1, id)));
      }
      validateProtocolRange(manifest);
      const deployment: DeploymentSchema = deepFreeze({
        id,
        url,
        protocolMode: manifest.protocolMode,
        minProtocolVersion: manifest.minProtocolVersion,
        maxProtocolVersion: manifest.maxProtocolVersion,
        useHttp11: opts.useHttp11 === true,
        additionalHeaders: { ...(opts.additionalHeaders ?? {}) },
        ...(manifest.sdkVersion !== undefined ? { sdkVersion: manifest.sdkVersion } : {}),
        metadata: { ...(opts.metadata ?? {}) },
        services: services.map((s) => s.name),
        createdAt: Date.now(),
      });
      const outcome: RegisterOutcome = existing === undefined ? 'created' : 'overwritten';
      const result = { outcome, deployment, services };
      if (opts.dryRun === true) return result;

      const stored: StoredDeployment = { deployment, services };
      const deployments = new Map(this.snapshot.deployments);
      deployments.set(id, stored);
      await this.persist(deployments, {
        id,
        url,
        createdAt: deployment.createdAt,
        data: encodeDeployment(stored),
      });
      return result;
    });
  }

  /**
   * Points a deployment at a new endpoint (or the same one, rediscovered) in place, as Restate's
   * update_deployment: same id, the same services with the same types and revisions, their
   * schemas and the endpoint's facts replaced by what `manifest` says. For an endpoint that moved
   * or changed its headers while invocations are pinned to the deployment. Unknown id: 404; other
   * services or types: 400.
   */
  updateDeployment(
    id: string,
    url: string,
    manifest: EndpointManifest,
    opts: Pick<RegisterOptions, 'useHttp11' | 'additionalHeaders' | 'dryRun'> = {},
  ): Promise<{ deployment: DeploymentSchema; services: ServiceSchema[] }> {
    return this.serialise(async () => {
      const stored = this.snapshot.deployments.get(id);
      if (stored === undefined) {
        throw new MetadataError(MetadataErrorCode.DeploymentNotFound, `The requested deployment '${id}' does not exist`);
      }
      const before = new Map(stored.services.map((s) => [s.name, s]));
      const names = (manifest.services ?? []).map((m) => m.name);
      if (names.length !== before.size || names.some((n) => !before.has(n))) {
        throw new MetadataError(
          MetadataErrorCode.InvalidManifest,
          `the endpoint at '${url}' exposes [${names.join(', ')}], but deployment ${id} has [${[...before.keys()].join(', ')}]: an update must keep the same services`,
        );
      }
      validateProtocolRange(manifest);
      const services = (manifest.services ?? []).map((m) => {
        const previous = before.get(m.name) as ServiceSchema;
        if (previous.ty !== m.ty) {
          throw new MetadataError(MetadataErrorCode.InvalidManifest, `the service '${m.name}' changes its type from ${previous.ty} to ${m.ty}`);
        }
        return deepFreeze(buildService(m, previous.revision, id));
      });
      const deployment: DeploymentSchema = deepFreeze({
        ...stored.deployment,
        url,
        protocolMode: manifest.protocolMode,
        minProtocolVersion: manifest.minProtocolVersion,
        maxProtocolVersion: manifest.maxProtocolVersion,
        useHttp11: opts.useHttp11 ?? stored.deployment.useHttp11,
        additionalHeaders: { ...(opts.additionalHeaders ?? stored.deployment.additionalHeaders) },
        ...(manifest.sdkVersion !== undefined ? { sdkVersion: manifest.sdkVersion } : {}),
        services: services.map((s) => s.name),
      });
      if (opts.dryRun === true) return { deployment, services };
      const next: StoredDeployment = { deployment, services };
      const deployments = new Map(this.snapshot.deployments);
      deployments.set(id, next);
      await this.persist(deployments, { id, url, createdAt: deployment.createdAt, data: encodeDeployment(next) });
      return { deployment, services };
    });
  }

  /**
   * Removes a deployment. As Restate, services whose active revision it served fall back to the
   * highest revision another deployment still holds, or disappear. Unknown id: 404.
   */
  removeDeployment(id: string, _opts: { force?: boolean } = {}): Promise<void> {
    return this.serialise(async () => {
      if (!this.snapshot.deployments.has(id)) {
        throw new MetadataError(
          MetadataErrorCode.DeploymentNotFound,
          `The requested deployment '${id}' does not exist`,
        );
      }
      const deployments = new Map(this.snapshot.deployments);
      deployments.delete(id);
      await this.persist(deployments, undefined, id);
    });
  }

  /**
   * Changes options of the active revision of a service in place (no new revision), as
   * Restate's modify_service. Unknown service: 404; workflow retention on a non-workflow: 400.
   */
  modifyService(name: string, changes: ServiceModification): Promise<ServiceSchema> {
    return this.serialise(async () => {
      const current = this.snapshot.services.get(name);
      if (current === undefined) {
        throw new MetadataError(MetadataErrorCode.ServiceNotFound, `The requested service '${name}' does not exist`);
      }
      if (changes.workflowCompletionRetentionMs !== undefined && current.ty !== 'WORKFLOW') {
        throw new MetadataError(
          MetadataErrorCode.InvalidManifest,
          `modifying retention time for service type ${current.ty} is unsupported`,
        );
      }
      const options = { ...current.options };
      const set = <K extends keyof ServiceModification & keyof typeof options>(key: K): void => {
        if (changes[key] !== undefined) options[key] = changes[key] as (typeof options)[K];
      };
      set('idempotencyRetentionMs');
      set('journalRetentionMs');
      set('inactivityTimeoutMs');
      set('abortTimeoutMs');
      set('workflowCompletionRetentionMs');
      const isPublic = changes.public ?? current.public;
      const handlers = new Map<string, HandlerSchema>();
      for (const [hName, h] of current.handlers) {
        let next: HandlerSchema = h;
        if (h.ingressPrivate === undefined && h.public !== isPublic) next = { ...next, public: isPublic };
        if (changes.workflowCompletionRetentionMs !== undefined && h.ty === 'WORKFLOW') {
          next = { ...next, options: { ...next.options, workflowCompletionRetentionMs: changes.workflowCompletionRetentionMs } };
        }
        handlers.set(hName, next === h ? h : deepFreeze(next));
      }
      const updated: ServiceSchema = deepFreeze({ ...current, public: isPublic, options, handlers });
      const owner = this.snapshot.deployments.get(current.deploymentId) as StoredDeployment;
      const stored: StoredDeployment = {
        deployment: owner.deployment,
        services: owner.services.map((s) => (s.name === name ? updated : s)),
      };
      const deployments = new Map(this.snapshot.deployments);
      deployments.set(owner.deployment.id, stored);
      await this.persist(deployments, {
        id: owner.deployment.id,
        url: owner.deployment.url,
        createdAt: owner.deployment.createdAt,
        data: encodeDeployment(stored),
      });
      return updated;
    });
  }

  /** Writes a change through the store, then swaps in the new snapshot. */
  private async persist(
    deployments: Map<string, StoredDeployment>,
    put: { id: string; url: string; createdAt: number; data: ReturnType<typeof encodeDeployment> } | undefined,
    removed?: string,
  ): Promise<void> {
    const services = activeIndex(deployments.values());
    const putServices: ServiceRecord[] = [];
    for (const s of services.values()) {
      const before = this.snapshot.services.get(s.name);
      if (before !== s) putServices.push(serviceRecord(s));
    }
    const removeServices = [...this.snapshot.services.keys()].filter((name) => !services.has(name));
    await this.store.commit({
      ...(put !== undefined ? { putDeployments: [put] } : {}),
      ...(removed !== undefined ? { removeDeployments: [removed] } : {}),
      putServices,
      removeServices,
    });
    this.snapshot = { deployments, services };
  }

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function validateProtocolRange(m: EndpointManifest): void {
  if (
    !Number.isInteger(m.minProtocolVersion) ||
    !Number.isInteger(m.maxProtocolVersion) ||
    m.minProtocolVersion > m.maxProtocolVersion
  ) {
    throw new MetadataError(
      MetadataErrorCode.InvalidManifest,
      `invalid protocol version range ${m.minProtocolVersion}..${m.maxProtocolVersion}`,
    );
  }
  if (m.protocolMode !== 'BIDI_STREAM' && m.protocolMode !== 'REQUEST_RESPONSE') {
    throw new MetadataError(MetadataErrorCode.InvalidManifest, `unknown protocol mode ${JSON.stringify(m.protocolMode)}`);
  }
}
