import type { InvocationStatus } from '../types/index.ts';

/**
 * The most recently used invocation status records, decoded, so that the commands of a running
 * invocation (a no-op call applies about four) do not each read and decode its row again.
 *
 * It holds what the store holds and nothing else, which is what keeps apply deterministic
 * (rule 2): every write of a status goes to the store and here in the same call, an entry
 * written inside a transaction or savepoint that rolls back is forgotten (the next read goes
 * to the store), and callers get copies, so a status changed by apply and then abandoned never
 * reaches the cache. Nothing here outlives the process, so a crash loses nothing.
 *
 * Bounded by `capacity` entries; the least recently used goes first.
 */
export class StatusCache {
  readonly #entries = new Map<string, InvocationStatus>();
  /** Ids changed in the open transaction, in order: what a rollback must forget. */
  #changed: string[] = [];

  constructor(readonly capacity: number) {}

  /** A copy of the cached status of `id`, if cached. */
  get(id: string): InvocationStatus | undefined {
    const status = this.#entries.get(id);
    if (status === undefined) return undefined;
    this.#entries.delete(id);
    this.#entries.set(id, status);
    return copy(status);
  }

  /** Caches `status` as read from the store (no change: a rollback keeps it). */
  fill(status: InvocationStatus): void {
    this.#put(status.id, copy(status));
  }

  /** Caches `status` as written in the open transaction. */
  write(status: InvocationStatus): void {
    this.#changed.push(status.id);
    this.#put(status.id, copy(status));
  }

  /** Forgets `id`, deleted in the open transaction. */
  delete(id: string): void {
    this.#changed.push(id);
    this.#entries.delete(id);
  }

  /** A point to roll back to: see {@link rollbackTo}. */
  mark(): number {
    return this.#changed.length;
  }

  /** Forgets every entry changed since `mark` (0: since the transaction began). */
  rollbackTo(mark: number): void {
    for (let i = mark; i < this.#changed.length; i++) this.#entries.delete(this.#changed[i]!);
    this.#changed.length = mark;
  }

  /** The open transaction committed: its changes stay. */
  committed(): void {
    this.#changed = [];
  }

  #put(id: string, status: InvocationStatus): void {
    this.#entries.delete(id);
    this.#entries.set(id, status);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}

/**
 * A copy deep enough that changing it (apply assigns fields and pushes to `sinks`) leaves the
 * original alone; the target, result and sinks themselves are never changed in place.
 */
function copy(s: InvocationStatus): InvocationStatus {
  return {
    ...s,
    sinks: s.sinks.slice(),
    waiting:
      s.waiting === undefined
        ? undefined
        : { completions: s.waiting.completions.slice(), signals: s.waiting.signals.slice(), namedSignals: s.waiting.namedSignals.slice() },
  };
}
