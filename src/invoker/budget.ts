import type { ByteBudget } from '../protocol/index.ts';

/**
 * The node's allowance of invocation bytes held in memory: what services sent that is not yet
 * a whole message (a frame still arriving) or not yet durable (a command waiting for its log
 * append). Every stream of the node draws from it, so a service that buffers without end cannot
 * exhaust the process, however many invocations it runs. A reservation that does not fit is
 * refused, never waited for: the attempt fails and is retried later, when others released.
 */
export class MemoryBudget implements ByteBudget {
  #used = 0;

  constructor(readonly limit: number) {
    if (!(limit > 0)) throw new RangeError(`memory budget must be positive, got ${limit}`);
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  tryReserve(n: number): boolean {
    if (n <= 0) return true;
    if (this.#used + n > this.limit) return false;
    this.#used += n;
    return true;
  }

  release(n: number): void {
    // Releases run in cleanup paths; never let them throw, never let the count go negative.
    if (n > 0) this.#used = Math.max(0, this.#used - n);
  }
}
