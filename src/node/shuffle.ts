import type { Logger } from 'pino';
import type { Command, OutboxMessage } from '../worker/index.ts';

/** Pause before retrying a refused delivery. */
const RETRY_MS = 200;

/**
 * The outbox shuffle of the partitions this node leads: delivers each outbox message to its
 * target partition's log (where its dedup id makes a repeated delivery harmless), then tells the
 * source partition which prefix of its outbox it may forget.
 *
 * Messages from one source to one target partition are delivered one after the other, each
 * only once the previous one was acknowledged, and a refused one is retried before any later
 * one is sent. The target deduplicates by the highest sequence it applied from a source (rule 5),
 * so a later message that overtook an earlier one would make the target drop the earlier one
 * for good. A local commit loop keeps submission order, but appends to another node's leader
 * are separate HTTP requests that can arrive in any order; hence the lanes.
 *
 * Truncation follows the contiguous prefix of delivered messages and is coalesced: one
 * `outbox-delivered` command per source partition and tick, not one per message.
 */
export class Shuffle {
  /** Undelivered messages per source and target (`source:target`), oldest first; the head is in flight. */
  readonly #lanes = new Map<string, Array<{ source: number; seq: number; message: OutboxMessage }>>();
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
    for (const key of this.#lanes.keys()) if (key.startsWith(`${source}:`)) this.#lanes.delete(key);
  }

  /** Stops delivering and truncating; called before the partitions close. */
  close(): void {
    this.#closed = true;
  }

  /** Queues outbox message `seq` of `source` behind the undelivered ones to the same target. */
  deliver(source: number, seq: number, message: OutboxMessage): void {
    if (this.#closed || !this.leads(source)) return;
    const key = `${source}:${message.partition}`;
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = [];
      this.#lanes.set(key, lane);
    }
    lane.push({ source, seq, message });
    // The lane was idle: its new head goes out now; otherwise it follows its predecessor.
    if (lane.length === 1) this.#send(key, lane);
  }

  /** Sends the head of `lane`; on success the next one, on failure the same one again later. */
  #send(key: string, lane: Array<{ source: number; seq: number; message: OutboxMessage }>): void {
    const head = lane[0];
    // The lane was dropped (step-down) or shut: the next leader of the source resumes its outbox.
    if (head === undefined || this.#closed || this.#lanes.get(key) !== lane || !this.leads(head.source)) return;
    const { source, seq, message } = head;
    this.submit(message.partition, message.command).then(
      () => {
        if (this.#lanes.get(key) !== lane) return;
        lane.shift();
        this.#markDelivered(source, seq);
        if (lane.length === 0) this.#lanes.delete(key);
        else this.#send(key, lane);
      },
      (err: unknown) => {
        if (this.#closed || this.#lanes.get(key) !== lane || !this.leads(source)) return;
        this.logger.warn({ err, source, seq }, 'outbox delivery failed; retrying once the target takes commands');
        // The target may be led by a node that is failing over: wait a moment as well.
        void this.writable()
          .then(() => new Promise((r) => setTimeout(r, RETRY_MS).unref()))
          .then(() => this.#send(key, lane));
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
