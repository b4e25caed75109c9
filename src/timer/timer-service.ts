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
 */
export class TimerService {
  readonly #heap: Entry[] = [];
  readonly #live = new Map<string, number>();
  #timeout: NodeJS.Timeout | undefined;
  #armedFor = Infinity;
  #closed = false;

  constructor(private readonly fire: (partition: number, key: string, now: number) => void) {}

  /** Schedules (or reschedules) a timer. */
  schedule(partition: number, key: string, fireAt: number): void {
    if (this.#closed) return;
    const id = `${partition}/${key}`;
    this.#live.set(id, fireAt);
    this.#push({ partition, key, fireAt });
    if (fireAt < this.#armedFor) this.#arm();
  }

  /** Number of timers waiting. */
  get size(): number {
    return this.#live.size;
  }

  close(): void {
    this.#closed = true;
    if (this.#timeout) clearTimeout(this.#timeout);
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
