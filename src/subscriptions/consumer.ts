import type { Logger } from '../common/logger.ts';
import type { Subscription } from './model.ts';
import { pause, type Deliver, type Source } from './source.ts';

/** States of a consumer. */
export const ConsumerState = {
  /** Connecting to the broker and positioning the consumer. */
  Running: 'running',
  /** The last run failed; waiting before the next. */
  BackingOff: 'backing-off',
  /** Stopped for good (subscription deleted or node closing). */
  Stopped: 'stopped',
} as const;
/** A consumer state. */
export type ConsumerState = (typeof ConsumerState)[keyof typeof ConsumerState];

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

/** What a consumer reports about itself. */
export interface ConsumerStatus {
  state: ConsumerState;
  /** Records this process appended since it started consuming. */
  delivered: number;
  lastError?: string;
}

/**
 * Consumes one subscription: runs its source, handing batches to the ingest, until stopped.
 * A failed run (broker down, append refused, sink missing) is logged and retried with a
 * growing backoff; the source redelivers from its last acknowledgement, so no record is lost
 * and the derived identities drop the ones already appended.
 *
 * States: running ⇄ backing-off → stopped. `stop` aborts the current run and waits for it.
 */
export class Consumer {
  #state: ConsumerState = ConsumerState.Running;
  #delivered = 0;
  #lastError: string | undefined;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    readonly subscription: Subscription,
    private readonly source: Source,
    private readonly ingest: Deliver,
    private readonly logger: Logger,
  ) {}

  /** Starts the consume loop in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  status(): ConsumerStatus {
    return { state: this.#state, delivered: this.#delivered, ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}) };
  }

  /** The broker's view of this consumer's position. */
  position(): ReturnType<Source['position']> {
    return this.source.position();
  }

  /** Stops consuming; resolves once the current batch settled and the broker connection closed. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    this.#state = ConsumerState.Stopped;
  }

  /** Stops, then removes what the subscription owns at the broker. */
  async dispose(): Promise<void> {
    await this.stop();
    await this.source.dispose().catch((err: unknown) =>
      this.logger.warn({ err, subscription: this.subscription.id }, 'could not remove the consumer at the broker'),
    );
  }

  #setState(next: ConsumerState): void {
    if (this.#state === ConsumerState.Stopped) throw new Error(`consumer of ${this.subscription.id} is stopped; cannot become ${next}`);
    this.#state = next;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let backoff = MIN_BACKOFF_MS;
    const deliver: Deliver = async (batch) => {
      await this.ingest(batch);
      this.#delivered += batch.length;
      backoff = MIN_BACKOFF_MS;
      this.#lastError = undefined;
    };
    while (!signal.aborted) {
      this.#setState(ConsumerState.Running);
      try {
        await this.source.run(deliver, signal);
      } catch (err) {
        if (signal.aborted) break;
        this.#lastError = err instanceof Error ? err.message : String(err);
        this.logger.warn(
          { err, subscription: this.subscription.id, source: this.subscription.source, retryInMs: backoff },
          'subscription consumer failed; the broker redelivers from the last acknowledgement after the backoff',
        );
      }
      if (signal.aborted) break;
      this.#setState(ConsumerState.BackingOff);
      await pause(backoff, signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}
