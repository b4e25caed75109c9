import type { IngressAnswer } from '../types/index.ts';

interface Waiter {
  readonly partition: number | undefined;
  readonly resolve: (answer: IngressAnswer) => void;
  readonly reject: (err: Error) => void;
}

/**
 * Requests of this node that wait for an answer from a partition processor: an invocation's
 * result, or the news that a send was accepted. Waiters live in memory only; a request whose
 * node died is gone with its connection, and a late answer for it is dropped.
 */
export class ResponseRegistry {
  #next = 1;
  readonly #waiting = new Map<number, Waiter>();

  /**
   * Registers a waiter; returns its request id and the answer promise. A waiter registered with
   * the `partition` that will answer it is rejected if this node stops leading that partition.
   */
  register(partition?: number): { requestId: number; answer: Promise<IngressAnswer>; cancel: () => void } {
    const requestId = this.#next++;
    let cancel = (): void => undefined;
    const answer = new Promise<IngressAnswer>((resolve, reject) => {
      this.#waiting.set(requestId, { partition, resolve, reject });
      cancel = () => {
        this.#waiting.delete(requestId);
      };
    });
    // Abandoned before its request awaits it (the submit is still in flight): not unhandled.
    answer.catch(() => undefined);
    return { requestId, answer, cancel };
  }

  /** Delivers an answer to a waiting request, if it is still waiting. */
  answer(requestId: number, answer: IngressAnswer): void {
    const waiter = this.#waiting.get(requestId);
    if (!waiter) return;
    this.#waiting.delete(requestId);
    waiter.resolve(answer);
  }

  /**
   * Fails every request waiting for `partition`, which this node stopped leading: the next
   * leader carries their commands on, but answers only requests waiting on itself.
   */
  abandonPartition(partition: number, reason: Error): void {
    for (const [id, w] of this.#waiting) {
      if (w.partition !== partition) continue;
      this.#waiting.delete(id);
      w.reject(reason);
    }
  }

  get size(): number {
    return this.#waiting.size;
  }
}
