import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import type { Logger } from '../common/logger.ts';
import type { WorkerRole } from './node.ts';

// A node of several worker processes (`--workers N`). The primary process only supervises: it
// forks the workers, restarts one that dies, relays the few messages between them, and stops
// them on a signal. It serves no request and opens no store. The workers share the ingress and
// admin listening sockets through node:cluster, which hands each new connection to the next
// worker (round robin); each worker is a member of the placement (partition leases), leads its
// share of the partitions, and forwards requests for the others to their leader.
//
// Why processes and not worker_threads: threads of one process cannot share a listening port
// on Node 20, and a process of its own gives each worker its own heap and garbage collector.

/** Environment variable carrying a forked worker's 1-based index. */
const WORKER_INDEX_ENV = 'ENDURE_WORKER_INDEX';
/** A worker that dies sooner than this after its start is restarted after a growing pause. */
const HEALTHY_AFTER_MS = 10_000;
/** First and longest pause before restarting a worker that keeps dying. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** How long a worker waits for its siblings to re-read the deployments. */
const RELOAD_PATIENCE_MS = 5_000;
/** How long the primary waits for the workers to stop before it kills them. */
const STOP_PATIENCE_MS = 30_000;

/** Messages between the primary and its workers (over node:cluster's IPC channel). */
type WorkerMessage =
  | { readonly kind: 'started'; readonly ingressUrl: string; readonly adminUrl: string }
  | { readonly kind: 'deployments-changed'; readonly request: number }
  | { readonly kind: 'deployments-reloaded'; readonly request: number };
type PrimaryMessage =
  | { readonly kind: 'reload-deployments'; readonly request: number }
  | { readonly kind: 'deployments-changed-done'; readonly request: number };

/** This process's role when it is a forked worker of a multi-process node, else undefined. */
export function workerIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(process.env[WORKER_INDEX_ENV]);
  return Number.isInteger(index) && index >= 1 ? index : undefined;
}

/**
 * The worker side of the relay: what `startNode` needs to tell its siblings about a new
 * deployment, and `onReload` to call when a sibling registered one. `started` reports the
 * node's listeners to the primary once the worker serves.
 */
export function workerChannel(index: number, onReload: () => Promise<void>, logger: Logger): {
  role: WorkerRole;
  started: (ingressUrl: string, adminUrl: string) => void;
} {
  const waiting = new Map<number, () => void>();
  let next = 0;
  const send = (m: WorkerMessage): void => {
    process.send?.(m);
  };
  process.on('message', (m: PrimaryMessage | null) => {
    if (typeof m !== 'object' || m === null) return;
    if (m.kind === 'reload-deployments') {
      onReload()
        .catch((err: unknown) => logger.warn({ err }, 'reloading the deployments another worker registered failed'))
        .finally(() => send({ kind: 'deployments-reloaded', request: m.request }));
    } else if (m.kind === 'deployments-changed-done') {
      waiting.get(m.request)?.();
      waiting.delete(m.request);
    }
  });
  return {
    role: {
      index,
      deploymentsChanged: () =>
        new Promise<void>((resolve) => {
          const request = next++;
          // A sibling that does not answer in time reads the deployments on its own within a second.
          const timer = setTimeout(() => {
            waiting.delete(request);
            resolve();
          }, RELOAD_PATIENCE_MS);
          waiting.set(request, () => {
            clearTimeout(timer);
            resolve();
          });
          send({ kind: 'deployments-changed', request });
        }),
    },
    started: (ingressUrl, adminUrl) => send({ kind: 'started', ingressUrl, adminUrl }),
  };
}

/** The running supervisor of a multi-process node. */
export interface WorkerSupervisor {
  /** Resolves once every worker started once (its listeners serve). */
  readonly started: Promise<{ ingressUrl: string; adminUrl: string }>;
  /** Passes a signal (SIGHUP: reload the token files) on to every worker. */
  signal(signal: NodeJS.Signals): void;
  /** Stops the workers (SIGTERM, then SIGKILL after a while) and resolves once all exited. */
  stop(): Promise<void>;
}

/** What the primary knows of one worker slot. */
interface Slot {
  readonly index: number;
  worker: ClusterWorker | undefined;
  startedAt: number;
  /** Pause before the next restart; grows while the worker keeps dying young. */
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * Forks `count` workers of this same program (same arguments and environment, plus the worker
 * index) and keeps them running: a worker that exits unasked is started again under the same
 * index, so it takes its partitions back at once. While it is down its partitions wait (a
 * request for them is retried by the forwarding layer up to a lease's length), or move to the
 * other workers when its leases lapse first.
 */
export function superviseWorkers(count: number, logger: Logger): WorkerSupervisor {
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    worker: undefined,
    startedAt: 0,
    backoffMs: RESTART_MIN_MS,
    restartTimer: undefined,
  }));
  let stopping = false;
  let resolveStarted: (urls: { ingressUrl: string; adminUrl: string }) => void = () => undefined;
  const started = new Promise<{ ingressUrl: string; adminUrl: string }>((r) => (resolveStarted = r));
  const everStarted = new Set<number>();
  // Reload requests in flight: which workers still have to answer, and who asked.
  const reloads = new Map<string, { from: ClusterWorker; request: number; pending: Set<number> }>();
  let nextReload = 0;

  const fork = (slot: Slot): void => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    worker.on('message', (m: WorkerMessage) => onMessage(slot, worker, m));
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
    logger.info({ worker: slot.index, workerPid: worker.process.pid }, 'worker forked');
  };

  const onMessage = (slot: Slot, worker: ClusterWorker, m: WorkerMessage): void => {
    switch (m.kind) {
      case 'started':
        logger.info({ worker: slot.index, workerPid: worker.process.pid }, 'worker serving');
        everStarted.add(slot.index);
        if (everStarted.size === count) resolveStarted({ ingressUrl: m.ingressUrl, adminUrl: m.adminUrl });
        break;
      case 'deployments-changed': {
        const id = String(nextReload++);
        const others = slots.filter((s) => s.worker !== undefined && s.worker !== worker && s.worker.isConnected());
        const entry = { from: worker, request: m.request, pending: new Set(others.map((s) => s.worker!.id)) };
        reloads.set(id, entry);
        for (const s of others) s.worker!.send({ kind: 'reload-deployments', request: Number(id) } satisfies PrimaryMessage);
        settleReload(id);
        break;
      }
      case 'deployments-reloaded':
        reloads.get(String(m.request))?.pending.delete(worker.id);
        settleReload(String(m.request));
        break;
    }
  };

  const settleReload = (id: string): void => {
    const entry = reloads.get(id);
    if (entry === undefined || entry.pending.size > 0) return;
    reloads.delete(id);
    if (entry.from.isConnected()) entry.from.send({ kind: 'deployments-changed-done', request: entry.request } satisfies PrimaryMessage);
  };

  const onExit = (slot: Slot, worker: ClusterWorker, code: number | null, signal: string | null): void => {
    if (slot.worker === worker) slot.worker = undefined;
    // A worker that died answers no reload request: do not keep its sibling waiting for it.
    for (const [id, entry] of reloads) {
      entry.pending.delete(worker.id);
      settleReload(id);
    }
    if (stopping) return;
    const lived = Date.now() - slot.startedAt;
    slot.backoffMs = lived >= HEALTHY_AFTER_MS ? RESTART_MIN_MS : Math.min(RESTART_MAX_MS, slot.backoffMs * 2);
    const pauseMs = lived >= HEALTHY_AFTER_MS ? 0 : slot.backoffMs;
    logger.error({ worker: slot.index, workerPid: worker.process.pid, code, signal, livedMs: lived, restartInMs: pauseMs }, 'worker exited; starting it again');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!stopping) fork(slot);
    }, pauseMs);
  };

  for (const slot of slots) fork(slot);

  return {
    started,
    signal(signal) {
      for (const slot of slots) slot.worker?.process.kill(signal);
    },
    async stop() {
      stopping = true;
      const exits: Promise<void>[] = [];
      for (const slot of slots) {
        if (slot.restartTimer !== undefined) clearTimeout(slot.restartTimer);
        const worker = slot.worker;
        if (worker === undefined || worker.isDead()) continue;
        exits.push(
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => {
              logger.warn({ worker: slot.index }, 'worker did not stop in time; killing it');
              worker.process.kill('SIGKILL');
            }, STOP_PATIENCE_MS);
            worker.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
          }),
        );
        worker.process.kill('SIGTERM');
      }
      await Promise.all(exits);
    },
  };
}
