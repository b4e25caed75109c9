/**
 * Batches messages that a broker pushes and hands them on one batch at a time, in arrival
 * order: while a batch is being made durable, the next one gathers. `handle` appends a batch
 * and acknowledges it; a failure stops the pump for good (later messages stay unacknowledged)
 * and is reported by `failed` / `drain`.
 */
export class Pump<T> {
  #pending: T[] = [];
  #flushing: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;

  constructor(
    private readonly maxBatch: number,
    private readonly handle: (batch: T[]) => Promise<void>,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** The failure that stopped the pump, if any. */
  get failed(): { error: unknown } | undefined {
    return this.#failure;
  }

  /** Adds a message; starts a flush unless one is running. */
  push(message: T): void {
    if (this.#failure !== undefined) return;
    this.#pending.push(message);
    this.#flushing ??= this.#flush();
  }

  /** Waits until every pushed message was handled; throws the failure that stopped the pump. */
  async drain(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length > 0 && this.#failure === undefined) {
        const batch = this.#pending.splice(0, this.maxBatch);
        await this.handle(batch);
      }
    } catch (error) {
      this.#failure = { error };
      this.#pending = [];
      this.onFailure(error);
    } finally {
      this.#flushing = undefined;
    }
  }
}
