import type { IngressAnswer } from '../worker/model.ts';

/**
 * Requests of this node that wait for an answer from a partition processor: an invocation's
 * result, or the news that a send was accepted. Waiters live in memory only; a request whose
 * node died is gone with its connection, and a late answer for it is dropped.
 */
export class ResponseRegistry {
  #next = 1;
  readonly #waiting = new Map<number, (answer: IngressAnswer) => void>();

  /** Registers a waiter; returns its request id and the answer promise. */
  register(): { requestId: number; answer: Promise<IngressAnswer>; cancel: () => void } {
    const requestId = this.#next++;
    let cancel = (): void => undefined;
    const answer = new Promise<IngressAnswer>((resolve) => {
      this.#waiting.set(requestId, resolve);
      cancel = () => {
        this.#waiting.delete(requestId);
      };
    });
    return { requestId, answer, cancel };
  }

  /** Delivers an answer to a waiting request, if it is still waiting. */
  answer(requestId: number, answer: IngressAnswer): void {
    const resolve = this.#waiting.get(requestId);
    if (!resolve) return;
    this.#waiting.delete(requestId);
    resolve(answer);
  }

  get size(): number {
    return this.#waiting.size;
  }
}
