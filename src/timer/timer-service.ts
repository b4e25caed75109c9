import { recordTimerFired } from '../common/metrics.ts';

/** A timer the service waits for. */
interface Entry {
  readonly partition: number;
  readonly key: string;
  readonly fireAt: number;
}

/**
 * Fires the durable timers of the partitions this node leads. The timers themselves live in the
 * store (written by apply); this service only keeps them in a min-heap and, when one is due,
 * appends a `timer-fired` command to its partition's log (rule 1). Firing is idempotent: apply
 * ignores a timer that is already gone, so firing twice after a restart changes nothing.
 *
 * One Node timeout is armed for the earliest entry at any time.
 *
 * Only timers due within a horizon are held in memory (retention clean-up timers alone would
 * otherwise make memory and start-up grow with history): the window is extended every half
 * horizon by reading the store, and a timer scheduled beyond the window is left to that read.
 * The window grows before the read is issued, so a timer committed meanwhile is either read
 * or scheduled (or both: duplicates fire once).
 */
export class TimerService {
  readonly #heap: Entry[] = [];
  readonly #live = new Map<string, number>();
  #timeout: NodeJS.Timeout | undefined;
  #armedFor = Infinity;
  #closed = false;
  #loadedUpTo = Number.MIN_SAFE_INTEGER;
  #extender: NodeJS.Timeout | undefined;

  constructor(
    private readonly fire: (partition: number, key: string, now: number) => void,
    private readonly load: (after: number, upTo: number) => Promise<{ partition: number; key: string; fireAt: number }[]>,
    private readonly horizonMs = 10 * 60 * 1000,
  ) {}

  /** Loads the first window and keeps extending it. Call once the partitions are ready. */
  async start(): Promise<void> {
    await this.#extend();
    this.#extender = setInterval(() => {
      // A failed load (store unreachable) is retried at the next tick, from the same point.
      this.#extend().catch(() => undefined);
    }, this.horizonMs / 2);
    this.#extender.unref();
  }

  async #extend(): Promise<void> {
    const after = this.#loadedUpTo;
    const upTo = Date.now() + this.horizonMs;
    // Raised before the load, so that timers committed while it runs are scheduled directly.
    this.#loadedUpTo = upTo;
    let due: { partition: number; key: string; fireAt: number }[];
    try {
      due = await this.load(after, upTo);
    } catch (err) {
      this.#loadedUpTo = after;
      throw err;
    }
    for (const t of due) this.schedule(t.partition, t.key, t.fireAt);
  }

  /** Schedules (or reschedules) a timer. */
  schedule(partition: number, key: string, fireAt: number): void {
    if (this.#closed || fireAt > this.#loadedUpTo) return;
    const id = `${partition}/${key}`;
    this.#live.set(id, fireAt);
    this.#push({ partition, key, fireAt });
    if (fireAt < this.#armedFor) this.#arm();
  }

  /**
   * Forgets the timers of a partition this node stopped leading (its next leader loads them).
   * Their heap entries stay and are skipped when they come up, as superseded ones are.
   */
  dropPartition(partition: number): void {
    const prefix = `${partition}/`;
    for (const id of [...this.#live.keys()]) if (id.startsWith(prefix)) this.#live.delete(id);
  }

  /**
   * Loads the timers of a partition this node just took over, up to the window already loaded
   * for the others; the window's extensions read it like any other partition from then on.
   */
  async loadPartition(partition: number, load: (upTo: number) => Promise<{ key: string; fireAt: number }[]>): Promise<void> {
    for (const t of await load(this.#loadedUpTo)) this.schedule(partition, t.key, t.fireAt);
  }

  /** Number of timers waiting. */
  get size(): number {
    return this.#live.size;
  }

  close(): void {
    this.#closed = true;
    if (this.#timeout) clearTimeout(this.#timeout);
    if (this.#extender) clearInterval(this.#extender);
  }

  #arm(): void {
    if (this.#timeout) clearTimeout(this.#timeout);
    const top = this.#heap[0];
    if (!top) {
      this.#armedFor = Infinity;
      this.#timeout = undefined;
      return;
    }
    this.#armedFor = top.fireAt;
    // setTimeout caps at ~24.8 days; longer timers re-arm on wake-up.
    const delay = Math.min(Math.max(0, top.fireAt - Date.now()), 2 ** 31 - 1);
    this.#timeout = setTimeout(() => this.#onTimeout(), delay);
    this.#timeout.unref();
  }

  #onTimeout(): void {
    const now = Date.now();
    for (;;) {
      const top = this.#heap[0];
      if (!top || top.fireAt > now) break;
      this.#pop();
      const id = `${top.partition}/${top.key}`;
      // Skip entries superseded by a later schedule of the same timer.
      if (this.#live.get(id) !== top.fireAt) continue;
      this.#live.delete(id);
      recordTimerFired(now - top.fireAt);
      this.fire(top.partition, top.key, now);
    }
    this.#arm();
  }

  #push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.fireAt <= h[i]!.fireAt) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.fireAt < h[m]!.fireAt) m = l;
      if (r < h.length && h[r]!.fireAt < h[m]!.fireAt) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
