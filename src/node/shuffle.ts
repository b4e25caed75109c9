import type { Logger } from 'pino';
import type { Command, OutboxMessage } from '../worker/index.ts';

/** Pause before retrying a refused delivery. */
const RETRY_MS = 200;

/**
 * The outbox shuffle of the partitions this node leads: delivers each outbox message to its
 * target partition's log (where its dedup id makes a repeated delivery harmless), then tells the
 * source partition which prefix of its outbox it may forget.
 *
 * Truncation follows the contiguous prefix of delivered messages and is coalesced: one
 * `outbox-delivered` command per source partition and tick, not one per message.
 */
export class Shuffle {
  readonly #delivered = new Map<number, Set<number>>();
  readonly #truncatedTo = new Map<number, number>();
  readonly #scheduled = new Set<number>();
  /** Set at shutdown: what is not delivered or truncated yet is done again by the next start. */
  #closed = false;

  constructor(
    private readonly submit: (partition: number, command: Command) => Promise<void>,
    private readonly logger: Logger,
    /** Resolves once the partitions take commands again: when a refused delivery is retried. */
    private readonly writable: () => Promise<void>,
    /** Whether this node leads `source` now (a cluster node delivers only for partitions it leads). */
    private readonly leads: (source: number) => boolean = () => true,
  ) {}

  /** Called at start-up, for every partition, with the first outbox sequence not yet delivered. */
  resume(source: number, firstSeq: number): void {
    this.#truncatedTo.set(source, firstSeq - 1);
  }

  /** Forgets a source partition this node stopped leading; its next leader resumes its outbox. */
  dropPartition(source: number): void {
    this.#delivered.delete(source);
    this.#truncatedTo.delete(source);
  }

  /** Stops delivering and truncating; called before the partitions close. */
  close(): void {
    this.#closed = true;
  }

  deliver(source: number, seq: number, message: OutboxMessage): void {
    if (this.#closed || !this.leads(source)) return;
    this.submit(message.partition, message.command).then(
      () => this.#markDelivered(source, seq),
      (err: unknown) => {
        if (this.#closed || !this.leads(source)) return;
        this.logger.warn({ err, source, seq }, 'outbox delivery failed; retrying once the target takes commands');
        // The target may be led by a node that is failing over: wait a moment as well.
        void this.writable()
          .then(() => new Promise((r) => setTimeout(r, RETRY_MS).unref()))
          .then(() => this.deliver(source, seq, message));
      },
    );
  }

  #markDelivered(source: number, seq: number): void {
    if (this.#closed || !this.leads(source)) return;
    let done = this.#delivered.get(source);
    if (!done) {
      done = new Set();
      this.#delivered.set(source, done);
    }
    done.add(seq);
    if (this.#scheduled.has(source)) return;
    this.#scheduled.add(source);
    setImmediate(() => this.#truncate(source));
  }

  #truncate(source: number): void {
    this.#scheduled.delete(source);
    if (this.#closed) return;
    const done = this.#delivered.get(source);
    if (!done) return;
    let upTo = this.#truncatedTo.get(source) ?? 0;
    while (done.delete(upTo + 1)) upTo += 1;
    if (upTo === this.#truncatedTo.get(source)) return;
    this.#truncatedTo.set(source, upTo);
    this.#submitTruncation(source, upTo);
  }

  #submitTruncation(source: number, upTo: number): void {
    this.submit(source, { kind: 'outbox-delivered', upTo }).catch((err: unknown) => {
      if (this.#closed) return;
      this.logger.warn({ err, source, upTo }, 'truncating the outbox failed; retrying once the store takes writes');
      void this.writable().then(() => {
        // A later truncation covers this one.
        if (this.#truncatedTo.get(source) === upTo) this.#submitTruncation(source, upTo);
      });
    });
  }
}
