import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import { BearerTokens } from '../common/bearer-tokens.ts';
import { isLoopbackHost } from '../common/loopback.ts';
import { observeNode } from '../common/metrics.ts';
import { Tracing } from '../common/tracing.ts';
import { createAdminHandler, startAdminServer } from '../admin/index.ts';
import { ResponseRegistry, createIngressHandler, listenHttp, type HttpListener } from '../ingress-http/index.ts';
import { Invoker } from '../invoker/index.ts';
import { SchemaRegistry } from '../metadata/index.ts';
import { closeAllSessions, discoverEndpoint, negotiateVersion } from '../protocol/index.ts';
import { scheduleTimerKey } from '../schedule/index.ts';
import { Partitioner } from '../sharding/index.ts';
import { SqliteMetadataStore } from '../store/sqlite/metadata.ts';
import { SqlitePartitionStore, SqliteQueryEngine, SqliteSubscriptionStore, openSqlite, type SqliteDb } from '../store/index.ts';
import { SINGLE_NODE_PLACEMENT, SubscriptionService, subscriptionRoutes } from '../subscriptions/index.ts';
import { TimerService } from '../timer/index.ts';
import { decodeCommand } from '../log/index.ts';
import { Worker, type Action, type OutboxMessage, type WorkerHealth } from '../worker/index.ts';
import { loadRequestIdentity } from './identity.ts';
import { invocationRoutes } from './invocation-routes.ts';
import { stateRoutes } from './state-routes.ts';
import { fireScheduleTimer, scheduleRegistrationHooks, scheduleRoutes, type ScheduleDeps } from './schedule-routes.ts';
import { Shuffle } from './shuffle.ts';
import { FlowRules, flowRoutes } from './flow-routes.ts';
import { Targets } from './targets.ts';

/** A running Endure node. */
export interface EndureNode {
  readonly ingressUrl: string;
  readonly adminUrl: string;
  /** Re-reads the admin and ingress token files (on SIGHUP), so tokens rotate without a restart. */
  reloadAuth(): Promise<void>;
  close(): Promise<void>;
}

const VERSION = '0.1.0';
/** Timers of schedules are fired as schedule ticks (node/schedule-routes.ts). */
const SCHEDULE_TIMER_PREFIX = scheduleTimerKey('');

/**
 * Starts a single Endure node on its embedded SQLite store: it leads every partition, so the
 * appender and the partition processors share one process and one commit loop.
 *
 * Start-up order matters: replay the logs' unapplied tails, then resume what the partitions
 * say is in flight (invocations, timers, outbox), and only then accept requests.
 */
export async function startNode(config: Config, logger: Logger): Promise<EndureNode> {
  const identity = loadRequestIdentity(config, logger);
  const tracing = config.tracingEndpoint !== undefined ? Tracing.start(config.tracingEndpoint, VERSION, logger) : Tracing.disabled;
  const dbPath = join(config.dataDir, 'endure.db');
  const db = openSqlite(dbPath, { integrityCheck: !config.skipIntegrityCheck });
  const partitions = fixPartitionCount(db, config.partitions, logger);
  const partitioner = new Partitioner(partitions);
  const store = new SqlitePartitionStore(db);
  const registry = await SchemaRegistry.open(new SqliteMetadataStore(db, (fn) => store.exclusive(fn)));
  const flowRules = new FlowRules();
  const targets = new Targets(registry, (s, h) => flowRules.ruleFor(s, h));
  const responses = new ResponseRegistry();
  // A fresh node id per process: sinks persisted by an earlier process never match new requests.
  const nodeId = randomBytes(8).toString('hex');

  const dispatch = (actions: Action[]): void => {
    for (const a of actions) {
      switch (a.kind) {
        case 'invoke':
          invoker.invoke(a.id, a.partition);
          break;
        case 'notify':
          invoker.notify(a.id, a.index, a.type, a.body);
          break;
        case 'answer':
          if (a.sink.node === nodeId) responses.answer(a.sink.requestId, a.answer);
          break;
        case 'timer':
          timers.schedule(a.partition, a.key, a.fireAt);
          break;
        case 'shuffle':
          shuffle(a.partition, a.seq, a.message);
          break;
        case 'abort':
          invoker.abort(a.id);
          break;
      }
    }
  };

  const worker = new Worker(store, partitioner, dispatch, logger);
  const submit = worker.submit.bind(worker);

  const writable = worker.writable.bind(worker);
  const shuffler = new Shuffle(submit, logger, writable);
  const shuffle = (source: number, seq: number, message: OutboxMessage): void => shuffler.deliver(source, seq, message);

  const timers = new TimerService(
    (partition, key, now) => {
      const fired = key.startsWith(SCHEDULE_TIMER_PREFIX)
        ? fireScheduleTimer(scheduleDeps, partition, key.slice(SCHEDULE_TIMER_PREFIX.length), now)
        : submit(partition, { kind: 'timer-fired', timerKey: key, now });
      fired.catch((err: unknown) => {
        // The timer left the service's memory when it fired: put it back once it can be stored.
        logger.warn({ err, partition, key }, 'firing a timer failed; firing it again once the store takes writes');
        void writable().then(() => timers.schedule(partition, key, Date.now()));
      });
    },
    async (after, upTo) => {
      const due = [];
      for (let p = 0; p < partitions; p++) {
        for (const t of await store.listTimers(p, { after, upTo })) due.push({ partition: p, key: t.key, fireAt: t.fireAt });
      }
      return due;
    },
  );

  const scheduleDeps: ScheduleDeps = { nodeId, partitioner, responses, store, targets, submit };

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
  });

  await worker.recover();
  await flowRules.load(store, partitions);
  await resumePartitions();
  await timers.start();
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

  async function resumePartitions(): Promise<void> {
    for (let p = 0; p < partitions; p++) {
      for (const id of await store.listInvocationsInPhase(p, 'invoked')) invoker.invoke(id, p);
      const outbox = await store.listOutbox(p);
      shuffler.resume(p, outbox[0]?.seq ?? (await store.getFsm(p)).outboxSeq + 1);
      for (const o of outbox) {
        const { command, partition } = decodeCommand(o.payload);
        if (partition !== undefined) shuffle(p, o.seq, { partition, command });
      }
    }
  }

  const subscriptions = await SubscriptionService.open({
    store: new SqliteSubscriptionStore(db, (fn) => store.exclusive(fn)),
    clusters: config.subscriptionClusters,
    sinks: targets,
    ingest: { partitioner, resolve: (s, h, k) => targets.resolve(s, h, k), submit, now: Date.now },
    placement: SINGLE_NODE_PLACEMENT,
    logger,
  });

  const unhealthy = (): string | undefined => describeHealth(worker.health());
  const ingressHandler = createIngressHandler({ nodeId, targets, partitioner, responses, submit, unhealthy });
  const listeners: HttpListener[] = [];
  // Introspection reads the database through its own read-only connection in a worker thread.
  const query = new SqliteQueryEngine(dbPath, undefined, () => invoker.attempts());
  const auth: { admin?: BearerTokens | undefined; ingress?: BearerTokens | undefined } = {};
  try {
    auth.admin = await BearerTokens.open('admin API', '--admin-token-file', config.auth.admin, logger);
    auth.ingress = await BearerTokens.open('ingress', '--ingress-token-file', config.auth.ingress, logger);
    listeners.push(
      await listenHttp(ingressHandler, {
        host: config.ingress.host,
        port: config.ingress.port,
        maxBodyBytes: config.ingressMaxBodyBytes,
        maxConnections: config.http.ingressMaxConnections,
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        auth: auth.ingress,
        logger,
        name: 'ingress',
      }),
    );
    const extraRoutes = [
      ...invocationRoutes({ nodeId, partitioner, responses, store, invoker, submit }),
      ...stateRoutes({ nodeId, partitioner, responses, registry, submit }),
    ];
    const adminHandler = createAdminHandler({
      registry,
      discover: (url, opts) => discoverEndpoint(url, { ...opts, identity }),
      version: VERSION,
      defaults: config,
      ingressUrl: listeners[0]!.url,
      query,
      extraRoutes: [...extraRoutes, ...subscriptionRoutes(subscriptions), ...scheduleRoutes(scheduleDeps), ...flowRoutes({ nodeId, partitioner, responses, store, rules: flowRules, submit })],
      registrationHooks: scheduleRegistrationHooks(scheduleDeps),
      unhealthy,
    });
    const admin = await startAdminServer(adminHandler, {
      host: config.admin.host,
      port: config.admin.port,
      logger,
      maxConnections: config.http.adminMaxConnections,
      headersTimeoutMs: config.http.headersTimeoutMs,
      requestTimeoutMs: config.http.requestTimeoutMs,
      auth: auth.admin,
    });
    listeners.push(admin);
  } catch (err) {
    auth.admin?.close();
    auth.ingress?.close();
    await Promise.allSettled(listeners.map((l) => l.close()));
    await query.close();
    unobserve();
    timers.close();
    await invoker.close();
    await tracing.close();
    db.close();
    throw err;
  }
  // Records enter like requests: only once the node is ready for them.
  subscriptions.start();
  if (auth.admin === undefined && !isLoopbackHost(config.admin.host)) {
    logger.warn(
      { admin: config.admin.host },
      'the admin API listens beyond loopback without auth: anyone who can reach it can register deployments and kill invocations; set --admin-token-file or ENDURE_ADMIN_TOKENS',
    );
  }
  logger.info({ dataDir: config.dataDir, partitions }, 'endure node started');

  let closing: Promise<void> | undefined;
  return {
    ingressUrl: listeners[0]!.url,
    adminUrl: listeners[1]!.url,
    async reloadAuth() {
      await Promise.all([auth.admin?.reload(), auth.ingress?.reload()]);
    },
    close() {
      closing ??= (async () => {
        auth.admin?.close();
        auth.ingress?.close();
        await Promise.allSettled(listeners.map((l) => l.close()));
        await subscriptions.close();
        await query.close();
        unobserve();
        timers.close();
        await invoker.close();
        await worker.close();
        await tracing.close().catch((err: unknown) => logger.warn({ err }, 'exporting the last spans failed'));
        await store.close();
        closeAllSessions();
        db.close();
        logger.info('endure node stopped');
      })();
      return closing;
    },
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

/** The partition count is fixed when the data directory is created. */
function fixPartitionCount(db: SqliteDb, requested: number, logger: Logger): number {
  const row = db.prepare("SELECT value FROM meta WHERE name = 'partitions'").get() as { value: string } | undefined;
  if (!row) {
    db.prepare("INSERT INTO meta (name, value) VALUES ('partitions', ?)").run(String(requested));
    return requested;
  }
  const stored = Number(row.value);
  if (stored !== requested) {
    logger.warn({ stored, requested }, 'the data directory was created with another partition count; keeping it');
  }
  return stored;
}
