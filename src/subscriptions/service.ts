import type { BrokerCluster, BrokerKind } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import type { SubscriptionRecord, SubscriptionStore } from '../store/index.ts';
import { Consumer, type ConsumerStatus } from './consumer.ts';
import { ingestBatch, type IngestDeps } from './ingest.ts';
import { kafkaSource } from './kafka.ts';
import { SubscriptionError, SubscriptionErrorCode, newSubscriptionId, type Subscription } from './model.ts';
import { natsSource } from './nats.ts';
import type { ConsumerPlacement } from './placement.ts';
import { rabbitmqSource } from './rabbitmq.ts';
import { parseSubscription, type SinkLookup } from './spec.ts';
import type { SourceFactory, SourcePosition } from './source.ts';

/** The built-in sources, by broker kind. */
const SOURCES: Record<BrokerKind, SourceFactory> = { nats: natsSource, rabbitmq: rabbitmqSource, kafka: kafkaSource };

/** Time a status request waits for a broker's view of a consumer. */
const POSITION_TIMEOUT_MS = 2_000;

/** What the subscription service needs. */
export interface SubscriptionServiceDeps {
  readonly store: SubscriptionStore;
  readonly clusters: readonly BrokerCluster[];
  readonly sinks: SinkLookup;
  readonly ingest: IngestDeps;
  readonly placement: ConsumerPlacement;
  readonly logger: Logger;
}

/** A subscription as the admin API shows it. */
export interface SubscriptionView {
  id: string;
  source: string;
  sink: string;
  options: Record<string, string>;
  created_at: string;
  /** This node's consumer, when it runs one. */
  consumer?: ConsumerStatus & SourcePosition;
  /** Why the subscription cannot be consumed (e.g. its cluster is no longer configured). */
  error?: string;
}

/** A subscription request: Restate's `CreateSubscriptionRequest`. */
export interface CreateSubscription {
  source: string;
  sink: string;
  options?: Record<string, string>;
}

interface Entry {
  record: SubscriptionRecord;
  parsed?: Subscription;
  error?: string;
  consumer?: Consumer;
}

/**
 * Owns the subscriptions of a node: creates (validated, then durable, then consumed), lists,
 * describes and deletes them, and runs a consumer for each one the placement gives this node.
 */
export class SubscriptionService {
  readonly #entries = new Map<string, Entry>();
  #closed = false;
  /** Consumers run only once the node is ready for records ({@link start}). */
  #started = false;

  private constructor(private readonly deps: SubscriptionServiceDeps) {}

  /** Loads the stored subscriptions; `start` begins consuming. */
  static async open(deps: SubscriptionServiceDeps): Promise<SubscriptionService> {
    const service = new SubscriptionService(deps);
    for (const record of await deps.store.listSubscriptions()) {
      const entry: Entry = { record };
      try {
        entry.parsed = parseSubscription(record, deps.clusters);
      } catch (err) {
        entry.error = err instanceof Error ? err.message : String(err);
        deps.logger.error({ subscription: record.id, source: record.source, reason: entry.error }, 'a stored subscription cannot be consumed');
      }
      service.#entries.set(record.id, entry);
    }
    return service;
  }

  /** Starts a consumer for every subscription this node consumes. */
  start(): void {
    this.#started = true;
    for (const entry of this.#entries.values()) this.#place(entry);
  }

  /** Validates and stores a subscription, then starts consuming it; a bad request changes nothing. */
  async create(req: CreateSubscription): Promise<SubscriptionView> {
    const record: SubscriptionRecord = {
      id: newSubscriptionId(),
      source: req.source,
      sink: req.sink,
      options: { ...(req.options ?? {}) },
      createdAt: Date.now(),
    };
    const parsed = parseSubscription(record, this.deps.clusters, this.deps.sinks);
    await this.deps.store.putSubscription(record);
    const entry: Entry = { record, parsed };
    this.#entries.set(record.id, entry);
    this.#place(entry);
    this.deps.logger.info({ subscription: record.id, source: record.source, sink: record.sink }, 'subscription created');
    return this.#view(entry, false);
  }

  /** Every subscription, optionally only those with this exact sink / source. */
  async list(filter: { sink?: string; source?: string } = {}): Promise<SubscriptionView[]> {
    const entries = [...this.#entries.values()].filter(
      (e) => (filter.sink === undefined || e.record.sink === filter.sink) && (filter.source === undefined || e.record.source === filter.source),
    );
    return Promise.all(entries.map((e) => this.#view(e, true)));
  }

  /** One subscription; 404 when unknown. */
  async get(id: string): Promise<SubscriptionView> {
    return this.#view(this.#entry(id), true);
  }

  /** Deletes a subscription: durable first, then the consumer stops and its broker state is removed. */
  async delete(id: string): Promise<void> {
    const entry = this.#entry(id);
    if (!(await this.deps.store.removeSubscription(id))) throw notFound(id);
    this.#entries.delete(id);
    if (entry.consumer !== undefined) await entry.consumer.dispose();
    else if (entry.parsed !== undefined) {
      // Another node consumes it (a cluster): it stops at its next refresh; the broker state goes now.
      await this.#source(entry.parsed).dispose().catch((err: unknown) =>
        this.deps.logger.warn({ err, subscription: id }, 'could not remove the consumer at the broker'),
      );
    }
    this.deps.logger.info({ subscription: id }, 'subscription deleted');
  }

  /**
   * Starts or stops each consumer as the placement says now: called when this node's leases
   * change (a cluster node), so a subscription moves with the lease of its partition.
   */
  rebalance(): void {
    for (const entry of this.#entries.values()) this.#place(entry);
  }

  /**
   * Re-reads the stored subscriptions (a cluster node: others create and delete them), adds the
   * new ones, stops the consumers of deleted ones (the node that deleted one removed its broker
   * state), and places every consumer again.
   */
  async refresh(): Promise<void> {
    const stored = await this.deps.store.listSubscriptions();
    if (this.#closed) return;
    const ids = new Set(stored.map((r) => r.id));
    for (const [id, entry] of this.#entries) {
      if (ids.has(id)) continue;
      this.#entries.delete(id);
      await entry.consumer?.stop();
    }
    for (const record of stored) {
      if (this.#entries.has(record.id)) continue;
      const entry: Entry = { record };
      try {
        entry.parsed = parseSubscription(record, this.deps.clusters);
      } catch (err) {
        entry.error = err instanceof Error ? err.message : String(err);
      }
      this.#entries.set(record.id, entry);
    }
    this.rebalance();
  }

  /** Stops every consumer; records not yet acknowledged stay with their brokers. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#entries.values()].map((e) => e.consumer?.stop()));
  }

  #entry(id: string): Entry {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw notFound(id);
    return entry;
  }

  /** Starts or stops the entry's consumer as the placement says. */
  #place(entry: Entry): void {
    if (this.#closed || !this.#started || entry.parsed === undefined) return;
    const sub = entry.parsed;
    if (!this.deps.placement.consumes(sub.id)) {
      void entry.consumer?.stop();
      entry.consumer = undefined;
      return;
    }
    if (entry.consumer !== undefined) return;
    const logger = this.deps.logger.child({ subscription: sub.id });
    entry.consumer = new Consumer(sub, this.#source(sub), (batch) => ingestBatch(this.deps.ingest, sub, batch), logger);
    entry.consumer.start();
  }

  #source(sub: Subscription): ReturnType<SourceFactory> {
    const cluster = this.deps.clusters.find((c) => c.name === sub.cluster) as BrokerCluster;
    return SOURCES[sub.kind](sub, cluster, this.deps.logger.child({ subscription: sub.id }));
  }

  async #view(entry: Entry, withPosition: boolean): Promise<SubscriptionView> {
    const r = entry.record;
    const view: SubscriptionView = { id: r.id, source: r.source, sink: r.sink, options: { ...r.options }, created_at: new Date(r.createdAt).toISOString() };
    if (entry.error !== undefined) view.error = entry.error;
    const consumer = entry.consumer;
    if (consumer !== undefined) {
      const position = withPosition ? await withTimeout(consumer.position(), POSITION_TIMEOUT_MS).catch(() => undefined) : undefined;
      view.consumer = { ...consumer.status(), ...(position ?? {}) };
    }
    return view;
  }
}

function notFound(id: string): SubscriptionError {
  return new SubscriptionError(SubscriptionErrorCode.NotFound, 404, `Subscription '${id}' not found`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
