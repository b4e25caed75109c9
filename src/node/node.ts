import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import { BearerTokens } from '../common/bearer-tokens.ts';
import { isLoopbackHost } from '../common/loopback.ts';
import { observeNode } from '../common/metrics.ts';
import { Tracing } from '../common/tracing.ts';
import { createAdminHandler, json, startAdminServer, type AdminHandler, type AdminRequest, type AdminResponse, type RegistrationHooks } from '../admin/index.ts';
import { ResponseRegistry, createIngressHandler, listenHttp, type HttpListener, type IngressRequest, type IngressResponse } from '../ingress-http/index.ts';
import { Invoker } from '../invoker/index.ts';
import { SchemaRegistry, type RegisterResult } from '../metadata/index.ts';
import {
  closeAllSessions,
  discoverEndpoint,
  discoverInProcess,
  isInProcessUrl,
  negotiateVersion,
  openInProcessStream,
  openInvocationStream,
  type FetchHandler,
  type InvocationStream,
  type InvocationStreamOptions,
} from '../protocol/index.ts';
import { scheduleTimerKey } from '../schedule/index.ts';
import { Partitioner } from '../sharding/index.ts';
import { openStore, type StoreBackend, type StoreLocation } from '../store/index.ts';
import { SINGLE_NODE_PLACEMENT, SubscriptionService, leaderPlacement, subscriptionRoutes } from '../subscriptions/index.ts';
import { TimerService } from '../timer/index.ts';
import { decodeCommand } from '../log/index.ts';
import { NotLeaderError, Worker, type Action, type Command, type OutboxMessage, type WorkerHealth } from '../worker/index.ts';
import { LeaseManager } from '../cluster/index.ts';
import { forwardingAdmin, orderedAppends, forwardingIngress, type ForwardDeps } from './forward.ts';
import { loadRequestIdentity } from './identity.ts';
import { invocationRoutes } from './invocation-routes.ts';
import { stateRoutes } from './state-routes.ts';
import { clusterRoutes } from './cluster-routes.ts';
import {
  checkDeclaredSchedules,
  fireScheduleTimer,
  scheduleRegistrationHooks,
  scheduleRoutes,
  type ScheduleDeps,
} from './schedule-routes.ts';
import { Shuffle } from './shuffle.ts';
import { FlowRules, flowRoutes } from './flow-routes.ts';
import { Targets } from './targets.ts';
import { uiRoutes } from '../ui/index.ts';

/** A running Endure node. */
export interface EndureNode {
  /** Base URL of the ingress listener; undefined when the node listens for no ingress (embedded, `listen.ingress: false`). */
  readonly ingressUrl: string | undefined;
  /** Base URL of the admin API listener; undefined when the node serves no admin API (embedded, `listen.admin: false`). */
  readonly adminUrl: string | undefined;
  /**
   * The ingress itself, a function of a request to a response, for callers in this process (the
   * embedded mode's client): the same handler the listener serves, without a socket, so without
   * the listener's body limit and bearer tokens.
   */
  readonly ingress: (req: IngressRequest) => Promise<IngressResponse>;
  /** Re-reads the admin and ingress token files (on SIGHUP), so tokens rotate without a restart. */
  reloadAuth(): Promise<void>;
  /** Re-reads the deployments from the store (another worker of this node registered one). */
  reloadDeployments(): Promise<void>;
  close(): Promise<void>;
}

/** What a node serves beyond its configuration. */
export interface NodeOptions {
  /**
   * Services living in this process (embedded mode), reached through their fetch-style handler
   * without a socket. They are registered as the deployment at `url` when the node starts,
   * before anything in flight resumes, so that a restarted process serves its own invocations.
   */
  readonly inProcess?: { readonly url: string; readonly handler: FetchHandler };
  /**
   * This process is worker `index` (1-based) of a node of `--workers` processes (node:cluster):
   * it is a member of the placement under its own name and leads only its share of the
   * partitions; requests for the others go to their worker over its private loopback listener.
   */
  readonly worker?: WorkerRole;
  /**
   * Which listeners to open (default: both). An embedded node may open neither: its own process
   * reaches the ingress through `EndureNode.ingress`. A cluster member or worker needs its ingress.
   */
  readonly listen?: { readonly ingress?: boolean; readonly admin?: boolean };
}

/** What a worker process of a multi-process node is told by its supervisor. */
export interface WorkerRole {
  /** 1-based; a restarted worker gets its index back, and with it its member name and leases. */
  readonly index: number;
  /**
   * Called once this worker registered a deployment, before the registration is answered:
   * resolves once the other workers re-read the deployments, so the next request finds it on
   * whichever worker it lands.
   */
  readonly deploymentsChanged: () => Promise<void>;
}

const VERSION = '0.1.0';
/** How often a cluster node re-reads the deployments others may have registered. */
const REGISTRY_RELOAD_MS = 1000;
/** Timers of schedules are fired as schedule ticks (node/schedule-routes.ts). */
const SCHEDULE_TIMER_PREFIX = scheduleTimerKey('');

/**
 * Starts a single Endure node on its store (SQLite in the data directory, or PostgreSQL): it
 * leads every partition, so the appender and the partition processors share one process and
 * one commit loop.
 *
 * Start-up order matters: replay the logs' unapplied tails, then resume what the partitions
 * say is in flight (invocations, timers, outbox), and only then accept requests.
 */
export async function startNode(config: Config, logger: Logger, options: NodeOptions = {}): Promise<EndureNode> {
  const identity = loadRequestIdentity(config, logger);
  const tracing = config.tracingEndpoint !== undefined ? Tracing.start(config.tracingEndpoint, VERSION, logger) : Tracing.disabled;
  // The workers of a node open a store their supervisor already checked and migrated.
  const backend = await openStore(storeLocation(config, options.worker !== undefined), {
    integrityCheck: !config.skipIntegrityCheck && options.worker === undefined,
  });
  const partitions = await fixPartitionCount(backend, config.partitions, logger);
  const partitioner = new Partitioner(partitions);
  const store = backend.partitions;
  const registry = await SchemaRegistry.open(backend.metadata);
  const inProcess = options.inProcess;
  let inProcessRegistration: RegisterResult | undefined;
  if (inProcess) {
    // Same URL on every start, overwritten in place: the deployment keeps its id, so invocations
    // pinned to it before a restart run on this process's services. Schedules declared in its
    // handlers are checked now and applied once the partitions run, as an admin registration does.
    try {
      const manifest = await discoverInProcess(inProcess.url, inProcess.handler);
      checkDeclaredSchedules(manifest);
      inProcessRegistration = await registry.registerDeployment(inProcess.url, manifest, { force: true });
    } catch (err) {
      await tracing.close();
      await backend.close();
      throw err;
    }
  }
  const flowRules = new FlowRules();
  const targets = new Targets(registry, (s, h) => flowRules.ruleFor(s, h));
  const responses = new ResponseRegistry();
  // A fresh node id per process: sinks persisted by an earlier process never match new requests.
  const nodeId = randomBytes(8).toString('hex');

  // A cluster node (a shared store and a node name) leads only the partitions it holds leases
  // of; the lease manager is the one owner of that answer, and everything that acts asks it.
  // A worker of a multi-process node is such a member too, on either backend: one placement
  // mechanism serves the nodes of a cluster and the workers of a node (DESIGN.md §5).
  const nodeName =
    options.worker !== undefined
      ? workerMemberName(config.cluster.nodeName, options.worker.index)
      : backend.capabilities.sharedByNodes
        ? config.cluster.nodeName
        : undefined;
  let advertised = '';
  // Node-to-node appends to this process carry this secret, read by the sender from our row.
  const secret = randomBytes(16).toString('hex');
  const leases: LeaseManager | undefined =
    nodeName === undefined
      ? undefined
      : new LeaseManager({
          store,
          nodeName,
          address: () => advertised,
          secret,
          partitions,
          leaseMs: config.cluster.leaseMs,
          clock: Date.now,
          logger,
          onGained: (p, epoch): Promise<void> => worker.recoverPartition(p, epoch),
          onLeading: (p, epoch) => {
            resumePartition(p).catch((err: unknown) => logger.error({ err, partition: p, epoch }, 'resuming a partition failed'));
            subscriptions.rebalance();
          },
          onLost: (p, _epoch, reason) => {
            timers.dropPartition(p);
            invoker.abortPartition(p);
            shuffler.dropPartition(p);
            responses.abandonPartition(p, new Error(`partition ${p} moved to another node while this request waited (${reason}); retry with the same idempotency-key`));
            // The subscriptions this partition places here stop consuming at once.
            subscriptions.rebalance();
          },
        });
  /** Whether this node acts for partition `p` now (a single node leads them all). */
  const leads = (p: number): boolean => leases === undefined || leases.epochOf(p) !== undefined;

  const dispatch = (actions: Action[]): void => {
    for (const a of actions) {
      switch (a.kind) {
        case 'invoke':
          // A step-down between the commit and here dropped the partition's work: keep it dropped.
          if (leads(a.partition)) invoker.invoke(a.id, a.partition);
          break;
        case 'notify':
          invoker.notify(a.id, a.index, a.type, a.body);
          break;
        case 'answer':
          if (a.sink.node === nodeId) responses.answer(a.sink.requestId, a.answer);
          break;
        case 'timer':
          if (leads(a.partition)) timers.schedule(a.partition, a.key, a.fireAt);
          break;
        case 'shuffle':
          if (leads(a.partition)) shuffle(a.partition, a.seq, a.message);
          break;
        case 'abort':
          invoker.abort(a.id);
          break;
      }
    }
  };

  // A single node leads every partition and passes no leadership: its commits and the worker's
  // store probe are unfenced, which is right only while one node runs on the store. A cluster
  // node passes its lease manager, and every batch is fenced by the epochs it hands out.
  const worker = new Worker(store, partitioner, dispatch, logger, leases);
  const submit = worker.submit.bind(worker);

  const writable = worker.writable.bind(worker);
  // Outbox messages go to their target partition's log wherever it is led.
  const appendRemote = nodeName === undefined ? undefined : orderedAppends({ nodeName, leases: store });
  const deliver = (p: number, command: Command): Promise<void> =>
    appendRemote === undefined || leads(p) ? submit(p, command) : appendRemote(p, command);
  const shuffler = new Shuffle(deliver, logger, writable, leads);
  const shuffle = (source: number, seq: number, message: OutboxMessage): void => shuffler.deliver(source, seq, message);

  const timers = new TimerService(
    (partition, key, now) => {
      const fired = key.startsWith(SCHEDULE_TIMER_PREFIX)
        ? fireScheduleTimer(scheduleDeps, partition, key.slice(SCHEDULE_TIMER_PREFIX.length), now)
        : submit(partition, { kind: 'timer-fired', timerKey: key, now });
      fired.catch((err: unknown) => {
        // This node lost the partition: its next leader loads the timer from the store.
        if (err instanceof NotLeaderError || !leads(partition)) return;
        // The timer left the service's memory when it fired: put it back once it can be stored.
        logger.warn({ err, partition, key }, 'firing a timer failed; firing it again once the store takes writes');
        void writable().then(() => timers.schedule(partition, key, Date.now()));
      });
    },
    async (after, upTo) => {
      const due = [];
      for (let p = 0; p < partitions; p++) {
        if (!leads(p)) continue;
        for (const t of await store.listTimers(p, { after, upTo })) due.push({ partition: p, key: t.key, fireAt: t.fireAt });
      }
      return due;
    },
  );

  const scheduleDeps: ScheduleDeps = { nodeId, partitioner, responses, store, targets, submit, deliver, patienceMs: config.cluster.leaseMs + 1000, reloadRegistry: () => registry.reload() };

  const invoker = new Invoker({
    store,
    registry: { getDeployment: (id) => targets.deployment(id) },
    latestDeployment: (s) => targets.latestDeployment(s),
    resolveTarget: (s, h, k) => targets.resolveCallee(s, h, k),
    lazyState: (s) => targets.lazyState(s),
    negotiate: negotiateVersion,
    submit,
    writable,
    config: {
      inactivityTimeoutMs: config.inactivityTimeoutMs,
      abortTimeoutMs: config.abortTimeoutMs,
      eagerStateMaxBytes: config.eagerStateMaxBytes,
      memoryLimitBytes: config.invokerMemoryLimitBytes,
    },
    retryPolicy: (s, h) => targets.retryPolicy(s, h, config.retry),
    logger,
    identity,
    tracing,
    openStream: (opts: InvocationStreamOptions): InvocationStream => {
      if (!isInProcessUrl(opts.url)) return openInvocationStream(opts);
      return openInProcessStream(opts.url === inProcess?.url ? inProcess.handler : noInProcessEndpoint, opts);
    },
  });

  if (leases === undefined) {
    await worker.recover();
    await flowRules.load(store, partitions);
    for (let p = 0; p < partitions; p++) await resumePartition(p);
    await timers.start();
  } else {
    // Partitions are recovered one by one as their leases are taken (once the node listens).
    await flowRules.load(store, partitions);
    await timers.start();
  }
  const unobserve = observeNode({
    timersPending: () => timers.size,
    invokerConnections: () => invoker.inFlight,
    invocationsBackingOff: () => invoker.backingOff,
    partitions: () => worker.progress(),
    pendingCommands: () => worker.pendingCount,
    activeInvocations: countActiveInvocations,
  });

  /** Read at scrape time through the status index; completed invocations are not counted. */
  async function countActiveInvocations(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const phase of ['scheduled', 'inboxed', 'invoked', 'suspended', 'paused'] as const) {
      let n = 0;
      for (let p = 0; p < partitions; p++) n += (await store.listInvocationsInPhase(p, phase)).length;
      counts[phase] = n;
    }
    return counts;
  }

  /** Resumes what partition `p` has in flight: invocations, the outbox, and (in a cluster) timers. */
  async function resumePartition(p: number): Promise<void> {
    for (const id of await store.listInvocationsInPhase(p, 'invoked')) if (leads(p)) invoker.invoke(id, p);
    const outbox = await store.listOutbox(p);
    shuffler.resume(p, outbox[0]?.seq ?? (await store.getFsm(p)).outboxSeq + 1);
    for (const o of outbox) {
      const { command, partition } = decodeCommand(o.payload);
      if (partition !== undefined) shuffle(p, o.seq, { partition, command });
    }
    if (leases !== undefined && leads(p)) {
      await timers.loadPartition(p, (upTo) => store.listTimers(p, { after: Number.MIN_SAFE_INTEGER, upTo }));
    }
  }

  const subscriptions = await SubscriptionService.open({
    store: backend.subscriptions,
    clusters: config.subscriptionClusters,
    sinks: targets,
    // A record's command goes to its partition wherever it is led; the broker is acknowledged
    // only once the append resolved, that is, once the leader committed it.
    ingest: { partitioner, resolve: (s, h, k) => targets.resolve(s, h, k), submit: deliver, now: Date.now },
    placement: leases === undefined ? SINGLE_NODE_PLACEMENT : leaderPlacement(partitioner, leads),
    logger,
  });

  const unhealthy = (): string | undefined => describeHealth(worker.health());
  const localIngress = createIngressHandler({ nodeId, targets, partitioner, responses, submit, unhealthy });
  // This node's own admin API, bound once it exists: it answers admin requests other nodes
  // forward to this one (they come in through the ingress listener, carrying our secret).
  let ownAdmin: AdminHandler | undefined;
  const forwardDeps: ForwardDeps | undefined =
    nodeName === undefined
      ? undefined
      : {
          nodeName,
          secret,
          submit,
          leases: store,
          patienceMs: config.cluster.leaseMs + 1000,
          logger,
          admin: (req) => (ownAdmin ?? notYetServing)(req),
        };
  const ingressHandler = forwardDeps === undefined ? localIngress : forwardingIngress(localIngress, forwardDeps);
  const listeners: HttpListener[] = [];
  let ingressListener: HttpListener | undefined;
  let adminListener: HttpListener | undefined;
  // Introspection runs off the event loop that applies commands (see the backend's engine).
  const query = backend.openQueryEngine(() => invoker.attempts());
  const auth: { admin?: BearerTokens | undefined; ingress?: BearerTokens | undefined } = {};
  let registryReload: NodeJS.Timeout | undefined;
  const registrationHooks = withSiblingReload(scheduleRegistrationHooks(scheduleDeps), options.worker);
  try {
    if (inProcessRegistration) await registrationHooks.registered(inProcessRegistration);
    auth.admin = await BearerTokens.open('admin API', '--admin-token-file', config.auth.admin, logger);
    auth.ingress = await BearerTokens.open('ingress', '--ingress-token-file', config.auth.ingress, logger);
    if (options.listen?.ingress !== false || leases !== undefined) {
      ingressListener = await listenHttp(ingressHandler, {
        host: config.ingress.host,
        port: config.ingress.port,
        maxBodyBytes: config.ingressMaxBodyBytes,
        maxConnections: config.http.ingressMaxConnections,
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        auth: auth.ingress,
        logger,
        name: 'ingress',
      });
      listeners.push(ingressListener);
    }
    const extraRoutes = [
      ...invocationRoutes({ nodeId, partitioner, responses, store, invoker, submit }),
      ...stateRoutes({ nodeId, partitioner, responses, registry, submit }),
      ...clusterRoutes({
        nodeName: leases === undefined ? undefined : nodeName,
        partitions,
        leases: leases === undefined ? undefined : store,
        leaseMs: config.cluster.leaseMs,
        address: () => (leases === undefined ? (ingressListener?.url ?? '') : advertised),
        clock: Date.now,
      }),
      ...uiRoutes(),
    ];
    const adminHandler = createAdminHandler({
      registry,
      discover: (url, opts) => discoverEndpoint(url, { ...opts, identity }),
      version: VERSION,
      defaults: config,
      ingressUrl: ingressListener?.url,
      query,
      extraRoutes: [...extraRoutes, ...subscriptionRoutes(subscriptions), ...scheduleRoutes(scheduleDeps), ...flowRoutes({ nodeId, partitioner, responses, store, rules: flowRules, submit })],
      registrationHooks,
      unhealthy,
    });
    ownAdmin = adminHandler;
    if (options.listen?.admin !== false) {
      adminListener = await startAdminServer(forwardDeps === undefined ? adminHandler : forwardingAdmin(adminHandler, forwardDeps), {
        host: config.admin.host,
        port: config.admin.port,
        logger,
        maxConnections: config.http.adminMaxConnections,
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        auth: auth.admin,
      });
      listeners.push(adminListener);
    }
    if (options.worker !== undefined) {
      // The shared ingress port reaches any worker; the leader of a partition is reached on a
      // port of its own, which it advertises in its member row like a node of a cluster does.
      const own = await listenHttp(ingressHandler, {
        host: config.ingress.host,
        port: 0,
        exclusive: true,
        maxBodyBytes: config.ingressMaxBodyBytes,
        maxConnections: config.http.ingressMaxConnections,
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        auth: auth.ingress,
        logger,
        name: `worker ${options.worker.index} ingress`,
      });
      listeners.push(own);
      const port = new URL(own.url).port;
      const advertisedHost = config.cluster.advertiseAddress === undefined ? new URL(own.url).hostname : hostOf(config.cluster.advertiseAddress);
      advertised = `${advertisedHost}:${port}`;
    }
    if (leases !== undefined) {
      advertised ||= config.cluster.advertiseAddress ?? new URL(ingressListener!.url).host;
      await leases.start();
      // Deployments registered through other nodes become visible here within a second, and
      registryReload = setInterval(() => {
        registry.reload().catch((err: unknown) => logger.warn({ err }, 'reloading the deployments failed; trying again in a second'));
        // So are subscriptions created or deleted through other nodes.
        subscriptions.refresh().catch((err: unknown) => logger.warn({ err }, 'reloading the subscriptions failed; trying again in a second'));
      }, REGISTRY_RELOAD_MS);
      registryReload.unref();
    }
  } catch (err) {
    await leases?.stop();
    auth.admin?.close();
    auth.ingress?.close();
    await Promise.allSettled(listeners.map((l) => l.close()));
    await query.close();
    unobserve();
    timers.close();
    await invoker.close();
    await tracing.close();
    await backend.close();
    throw err;
  }
  // Records enter like requests: only once the node is ready for them.
  subscriptions.start();
  if (adminListener !== undefined && auth.admin === undefined && !isLoopbackHost(config.admin.host)) {
    logger.warn(
      { admin: config.admin.host },
      'the admin API listens beyond loopback without auth: anyone who can reach it can register deployments and kill invocations; set --admin-token-file or ENDURE_ADMIN_TOKENS',
    );
  }
  logger.info({ store: backend.capabilities.location, partitions, node: nodeName, leading: leases?.leading().length }, 'endure node started');

  let closing: Promise<void> | undefined;
  return {
    ingressUrl: ingressListener?.url,
    adminUrl: adminListener?.url,
    ingress: ingressHandler,
    async reloadAuth() {
      await Promise.all([auth.admin?.reload(), auth.ingress?.reload()]);
    },
    reloadDeployments: () => registry.reload(),
    close() {
      closing ??= (async () => {
        auth.admin?.close();
        auth.ingress?.close();
        await Promise.allSettled(listeners.map((l) => l.close()));
        // Hand the leases back first, so the other nodes take the partitions over at once.
        if (registryReload) clearInterval(registryReload);
        await leases?.stop();
        await subscriptions.close();
        await query.close();
        unobserve();
        timers.close();
        await invoker.close();
        shuffler.close();
        await worker.close();
        await tracing.close().catch((err: unknown) => logger.warn({ err }, 'exporting the last spans failed'));
        closeAllSessions();
        await backend.close();
        logger.info('endure node stopped');
      })();
      return closing;
    },
  };
}

/**
 * Opens the store once and closes it, so that its integrity check and migrations run in one
 * process before the workers of a node open it side by side (two processes migrating one
 * SQLite file at once would both try to apply the same migration).
 */
export async function prepareStore(config: Config, logger: Logger): Promise<void> {
  const backend = await openStore(storeLocation(config, true), { integrityCheck: !config.skipIntegrityCheck });
  try {
    await fixPartitionCount(backend, config.partitions, logger);
  } finally {
    await backend.close();
  }
}

/**
 * The member name of worker `index` in the lease rows: `<node>.w<index>`, the node being
 * `--node-name` or else the host name, so that the workers of two machines never share a name.
 * The name is stable across restarts of the worker: a restarted worker takes its own leases back
 * at once (fencing its earlier incarnation) instead of waiting for them to lapse.
 */
function workerMemberName(nodeName: string | undefined, index: number): string {
  return `${nodeName ?? hostname()}.w${index}`;
}

/** The host of a `host:port` (an IPv6 host keeps its brackets). */
function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

/**
 * Registration hooks that, in a worker of a multi-process node, also wait for the other workers
 * to re-read the deployments before the registration is answered.
 */
function withSiblingReload(hooks: RegistrationHooks, worker: WorkerRole | undefined): RegistrationHooks {
  if (worker === undefined) return hooks;
  return {
    check: (manifest) => hooks.check(manifest),
    async registered(result) {
      await hooks.registered(result);
      await worker.deploymentsChanged();
    },
  };
}

/** Where the configuration says the data lives. */
function storeLocation(config: Config, member: boolean): StoreLocation {
  return config.store === null
    ? { kind: 'sqlite', path: join(config.dataDir, 'endure.db') }
    : {
        kind: 'postgres',
        url: config.store,
        schema: config.storeSchema,
        // A frozen cluster leader must not hold its lease rows locked past its lease.
        ...(config.cluster.nodeName !== undefined || member ? { idleInTransactionMs: Math.min(10_000, config.cluster.leaseMs) } : {}),
      };
}

/** What health endpoints say when the partitions cannot take commands. */
function describeHealth(health: WorkerHealth): string | undefined {
  switch (health.state) {
    case 'accepting':
      return undefined;
    case 'refusing':
      return `${health.error.message}; since ${new Date(health.since).toISOString()}, retrying`;
    case 'broken':
      return `the store failed to flush a commit to disk and refuses all work until restarted: ${
        health.error instanceof Error ? health.error.message : String(health.error)
      }`;
  }
}

/**
 * Stands in for in-process services this process does not have (a data directory written by an
 * embedding application, opened by `endure server`): their invocations fail with a clear
 * message and are retried, and resume once the application runs again.
 */
async function noInProcessEndpoint(request: Request): Promise<Response> {
  const { protocol, host } = new URL(request.url);
  throw new Error(`${protocol}//${host} is served in-process by an application embedding Endure; this process does not serve it`);
}

/** Answers admin requests forwarded here before this node's admin API exists (start-up). */
async function notYetServing(_req: AdminRequest): Promise<AdminResponse> {
  return json(503, { code: 503, message: 'this node is starting; try again shortly' });
}

/** The partition count is fixed when the store is created. */
async function fixPartitionCount(backend: StoreBackend, requested: number, logger: Logger): Promise<number> {
  const stored = await backend.fixPartitionCount(requested);
  if (stored !== requested) {
    logger.warn({ stored, requested }, 'the store was created with another partition count; keeping it');
  }
  return stored;
}
