import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import { createAdminHandler, startAdminServer } from '../admin/index.ts';
import { ResponseRegistry, createIngressHandler, listenHttp, type HttpListener } from '../ingress-http/index.ts';
import { Invoker } from '../invoker/index.ts';
import { SchemaRegistry } from '../metadata/index.ts';
import { closeAllSessions, discoverEndpoint, negotiateVersion } from '../protocol/index.ts';
import { Partitioner } from '../sharding/index.ts';
import { openStore, type StoreBackend, type StoreLocation } from '../store/index.ts';
import { TimerService } from '../timer/index.ts';
import { decodeCommand } from '../log/index.ts';
import { Worker, type Action, type OutboxMessage } from '../worker/index.ts';
import { invocationRoutes } from './invocation-routes.ts';
import { Shuffle } from './shuffle.ts';
import { Targets } from './targets.ts';

/** A running Endure node. */
export interface EndureNode {
  readonly ingressUrl: string;
  readonly adminUrl: string;
  close(): Promise<void>;
}

const VERSION = '0.1.0';

/**
 * Starts a single Endure node on its store (SQLite in the data directory, or PostgreSQL): it
 * leads every partition, so the appender and the partition processors share one process and
 * one commit loop.
 *
 * Start-up order matters: replay the logs' unapplied tails, then resume what the partitions
 * say is in flight (invocations, timers, outbox), and only then accept requests.
 */
export async function startNode(config: Config, logger: Logger): Promise<EndureNode> {
  const backend = await openStore(storeLocation(config));
  const partitions = await fixPartitionCount(backend, config.partitions, logger);
  const partitioner = new Partitioner(partitions);
  const store = backend.partitions;
  const registry = await SchemaRegistry.open(backend.metadata);
  const targets = new Targets(registry);
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

  const shuffler = new Shuffle(submit, logger);
  const shuffle = (source: number, seq: number, message: OutboxMessage): void => shuffler.deliver(source, seq, message);

  const timers = new TimerService(
    (partition, key, now) => {
      submit(partition, { kind: 'timer-fired', timerKey: key, now }).catch((err: unknown) =>
        logger.error({ err, partition, key }, 'firing a timer failed'),
      );
    },
    async (after, upTo) => {
      const due = [];
      for (let p = 0; p < partitions; p++) {
        for (const t of await store.listTimers(p, { after, upTo })) due.push({ partition: p, key: t.key, fireAt: t.fireAt });
      }
      return due;
    },
  );

  const invoker = new Invoker({
    store,
    registry: { getDeployment: (id) => targets.deployment(id) },
    latestDeployment: (s) => targets.latestDeployment(s),
    resolveTarget: (s, h, k) => targets.resolveCallee(s, h, k),
    lazyState: (s) => targets.lazyState(s),
    negotiate: negotiateVersion,
    submit,
    config: {
      inactivityTimeoutMs: config.inactivityTimeoutMs,
      abortTimeoutMs: config.abortTimeoutMs,
      eagerStateMaxBytes: config.eagerStateMaxBytes,
    },
    retryPolicy: (s, h) => targets.retryPolicy(s, h, config.retry),
    logger,
  });

  await worker.recover();
  await resumePartitions();
  await timers.start();

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

  const ingressHandler = createIngressHandler({ nodeId, targets, partitioner, responses, submit });
  const listeners: HttpListener[] = [];
  try {
    listeners.push(
      await listenHttp(ingressHandler, {
        host: config.ingress.host,
        port: config.ingress.port,
        maxBodyBytes: config.ingressMaxBodyBytes,
        logger,
        name: 'ingress',
      }),
    );
    const extraRoutes = invocationRoutes({ nodeId, partitioner, responses, store, invoker, submit });
    const adminHandler = createAdminHandler({
      registry,
      discover: discoverEndpoint,
      version: VERSION,
      defaults: config,
      ingressUrl: listeners[0]!.url,
      extraRoutes,
    });
    const admin = await startAdminServer(adminHandler, {
      host: config.admin.host,
      port: config.admin.port,
      logger,
    });
    listeners.push(admin);
  } catch (err) {
    await Promise.allSettled(listeners.map((l) => l.close()));
    timers.close();
    await invoker.close();
    await backend.close();
    throw err;
  }
  logger.info({ store: backend.capabilities.location, partitions }, 'endure node started');

  let closing: Promise<void> | undefined;
  return {
    ingressUrl: listeners[0]!.url,
    adminUrl: listeners[1]!.url,
    close() {
      closing ??= (async () => {
        await Promise.allSettled(listeners.map((l) => l.close()));
        timers.close();
        await invoker.close();
        await worker.close();
        closeAllSessions();
        await backend.close();
        logger.info('endure node stopped');
      })();
      return closing;
    },
  };
}

/** Where the configuration says the data lives. */
function storeLocation(config: Config): StoreLocation {
  return config.store === null
    ? { kind: 'sqlite', path: join(config.dataDir, 'endure.db') }
    : { kind: 'postgres', url: config.store, schema: config.storeSchema };
}

/** The partition count is fixed when the store is created. */
async function fixPartitionCount(backend: StoreBackend, requested: number, logger: Logger): Promise<number> {
  const stored = await backend.fixPartitionCount(requested);
  if (stored !== requested) {
    logger.warn({ stored, requested }, 'the store was created with another partition count; keeping it');
  }
  return stored;
}
