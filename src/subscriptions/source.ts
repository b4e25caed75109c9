import type { BrokerCluster } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import type { Subscription } from './model.ts';

/** One record read from a broker, as the ingest turns it into an invocation. */
export interface SourceRecord {
  /** The record's identity within its subscription (stream sequence, partition/offset, message id). */
  readonly id: string;
  /** Ordered position, for the command's dedup header; absent where the source has none (RabbitMQ). */
  readonly seq?: { readonly producer: string; readonly seq: number };
  /** The virtual-object key, when the record has one. */
  readonly key: string | undefined;
  readonly payload: Uint8Array;
  /** Broker headers, passed to the handler as request headers. */
  readonly headers: readonly (readonly [string, string])[];
}

/** Hands a batch of records, in source order, to the ingest; resolves once they are durable. */
export type Deliver = (batch: readonly SourceRecord[]) => Promise<void>;

/** Where a consumer stands, as far as its broker says. */
export interface SourcePosition {
  /** Last position acknowledged to the broker (stream sequence, offsets, or a count for RabbitMQ). */
  readonly acknowledged?: string;
  /** Records the broker still holds for this subscription, not yet acknowledged. */
  readonly lag?: number;
}

/**
 * A broker stream read on behalf of one subscription. `run` connects, reads records in source
 * order, hands each batch to `deliver` and acknowledges the batch to the broker only after
 * `deliver` resolved (the invoke commands are durable). It returns when `signal` aborts and
 * throws on any failure, leaving unacknowledged records with the broker; the consumer then
 * calls `run` again after a backoff, and the broker redelivers from the last acknowledgement.
 */
export interface Source {
  run(deliver: Deliver, signal: AbortSignal): Promise<void>;
  /** Where the consumer stands; undefined when the broker cannot say right now. */
  position(): Promise<SourcePosition | undefined>;
  /** Removes what the subscription owns at the broker (a NATS durable consumer); called once it is deleted. */
  dispose(): Promise<void>;
}

/** Builds the source of a subscription on its cluster. */
export type SourceFactory = (subscription: Subscription, cluster: BrokerCluster, logger: Logger) => Source;

/** Records per batch unless the subscription's `batch_size` option says otherwise. */
export const DEFAULT_BATCH_SIZE = 256;

/** The batch size of a subscription. */
export function batchSize(s: Subscription): number {
  return Number(s.options.batch_size ?? DEFAULT_BATCH_SIZE);
}

/** The header that carries the record's virtual-object key on NATS and RabbitMQ. */
export function keyHeader(s: Subscription): string {
  return (s.options.key_header ?? 'key').toLowerCase();
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
