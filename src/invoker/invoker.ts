import { recordAttempt, recordInvocation, recordRetry } from '../common/metrics.ts';
import type { Command } from '../types/index.ts';
import { Attempt, type AttemptOutcome } from './attempt.ts';
import { MemoryBudget } from './budget.ts';
import type { InvokerDeps } from './deps.ts';
import { RetryState, backoffDelay } from './retry.ts';

/** What the invoker knows of an invocation in its hands, for introspection (sys_invocation_state). */
export interface AttemptInfo {
  readonly id: string;
  readonly status: 'running' | 'backing-off';
  /** Failed attempts so far. */
  readonly retryCount: number;
  readonly lastStartAt: number | undefined;
  readonly lastFailure: string | undefined;
  readonly lastFailureCode: number | undefined;
  readonly nextRetryAt: number | undefined;
}

/** Delay before retrying after a refused command, when the store cannot say when it takes writes. */
const STORE_RETRY_MS = 1000;

/**
 * Runs invocations on their deployments, one attempt at a time per invocation, and retries
 * failed attempts with exponential backoff. It never writes the store: everything it learns
 * becomes a command on the partition's log (rule 1), and it acts only on the leader's behalf.
 *
 * Per invocation: idle → running → (backing-off → running)* → idle.
 */
export class Invoker {
  readonly #running = new Map<string, Attempt>();
  readonly #rerun = new Set<string>();
  readonly #backoff = new Map<string, NodeJS.Timeout>();
  readonly #retry = new Map<string, RetryState>();
  /** Invocations waiting for the store to take writes before their next attempt. */
  readonly #waitingStore = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  /** The partition of every invocation in this invoker's hands. */
  readonly #partitionOf = new Map<string, number>();
  readonly #budget: MemoryBudget;
  #closed = false;

  constructor(private readonly deps: InvokerDeps) {
    this.#budget = new MemoryBudget(deps.config.memoryLimitBytes);
  }

  /** Starts (or restarts, once the current attempt ends) an invocation. */
  invoke(id: string, partition: number): void {
    if (this.#closed) return;
    if (this.#running.has(id)) {
      this.#rerun.add(id);
      return;
    }
    const pending = this.#backoff.get(id);
    if (pending) {
      clearTimeout(pending);
      this.#backoff.delete(id);
    }
    this.#waitingStore.delete(id);
    this.#partitionOf.set(id, partition);
    this.#start(id, partition);
  }

  /** Forwards a journaled notification to the live attempt, if any. */
  notify(id: string, index: number, type: number, body: Uint8Array): void {
    this.#running.get(id)?.deliver(index, type, body);
  }

  /** Stops an invocation that ended, was killed or paused: its attempt is torn down, no retry, no rerun. */
  abort(id: string): void {
    this.#running.get(id)?.abort();
    this.#rerun.delete(id);
    this.#retry.delete(id);
    this.#waitingStore.delete(id);
    this.#partitionOf.delete(id);
    const pending = this.#backoff.get(id);
    if (pending) clearTimeout(pending);
    this.#backoff.delete(id);
  }

  /**
   * Drops every invocation of a partition this node stopped leading: attempts torn down, no
   * retry. Nothing they learned after the step-down can commit (the epoch check refuses it);
   * the next leader resumes them from their journals.
   */
  abortPartition(partition: number): void {
    for (const [id, p] of this.#partitionOf) if (p === partition) this.abort(id);
  }

  /** 'running', 'backing-off' or undefined (not in this invoker's hands). */
  stateOf(id: string): 'running' | 'backing-off' | undefined {
    if (this.#running.has(id)) return 'running';
    if (this.#backoff.has(id) || this.#waitingStore.has(id)) return 'backing-off';
    return undefined;
  }

  /** Bytes of the memory budget held now by partial frames and commands not yet durable. */
  get memoryUsed(): number {
    return this.#budget.used;
  }

  /** Every invocation running or backing off, with its retry facts. */
  attempts(): AttemptInfo[] {
    const out: AttemptInfo[] = [];
    for (const [id, retry] of this.#retry) {
      const status = this.stateOf(id);
      if (status === undefined) continue;
      out.push({
        id,
        status,
        retryCount: retry.attempts,
        lastStartAt: retry.lastStartAt,
        lastFailure: retry.lastFailure?.message,
        lastFailureCode: retry.lastFailure?.code,
        nextRetryAt: status === 'backing-off' ? retry.nextRetryAt : undefined,
      });
    }
    return out;
  }

  /** Number of attempts in flight. */
  get inFlight(): number {
    return this.#running.size;
  }

  /** Number of invocations waiting for their next retry. */
  get backingOff(): number {
    return this.#backoff.size;
  }

  /** Stops every attempt and waits for them to wind down. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#backoff.values()) clearTimeout(t);
    this.#backoff.clear();
    for (const a of this.#running.values()) a.abort();
    await Promise.allSettled([...this.#tasks]);
  }

  /** Appends the command that gives up on an invocation; a refused one is appended again later. */
  #giveUp(id: string, partition: number, command: Command): void {
    this.deps.submit(partition, command).catch((err: unknown) => {
      this.deps.logger.error({ err, invocationId: id }, 'giving up on an invocation failed; trying again once the store takes writes');
      this.#whenWritable(id, () => this.#giveUp(id, partition, command));
    });
  }

  /** Runs `then` once the partitions take commands again, unless the invocation was aborted or restarted meanwhile. */
  #whenWritable(id: string, then: () => void): void {
    this.#waitingStore.add(id);
    const writable = this.deps.writable?.() ?? new Promise<void>((r) => setTimeout(r, STORE_RETRY_MS).unref());
    void writable.then(() => {
      if (this.#closed || !this.#waitingStore.delete(id)) return;
      then();
    });
  }

  #start(id: string, partition: number): void {
    let retry = this.#retry.get(id);
    if (!retry) {
      retry = new RetryState();
      this.#retry.set(id, retry);
    }
    retry.lastStartAt = Date.now();
    const attempt = new Attempt(id, partition, this.deps, retry, this.#budget);
    this.#running.set(id, attempt);
    const startedAt = performance.now();
    const task = attempt.run().then((outcome) => {
      recordAttempt(outcome.kind, startedAt);
      this.#finished(id, partition, retry, outcome, attempt);
    });
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  #finished(id: string, partition: number, retry: RetryState, outcome: AttemptOutcome, attempt: Attempt): void {
    this.#running.delete(id);
    const rerun = this.#rerun.delete(id);
    if (this.#closed) return;
    switch (outcome.kind) {
      case 'ended':
      case 'not-runnable':
        if (outcome.kind === 'ended') recordInvocation(outcome.failed ? 'failed' : 'completed');
        this.#retry.delete(id);
        if (rerun) this.#start(id, partition);
        else this.#partitionOf.delete(id);
        return;
      case 'suspended':
        retry.failures = 0;
        if (rerun) this.#start(id, partition);
        return;
      case 'aborted':
        return;
      case 'unstored':
        // Not the handler's failure: it does not count against the retry policy.
        this.deps.logger.warn({ invocationId: id, error: outcome.message }, 'attempt stopped: the store refused its command; retrying once it takes writes');
        this.#whenWritable(id, () => this.#start(id, partition));
        return;
      case 'failed': {
        retry.failures = outcome.stored ? 1 : retry.failures + 1;
        retry.retryCountSinceStored += 1;
        retry.attempts += 1;
        retry.lastFailure = { message: outcome.message, code: outcome.code };
        const policy = this.deps.retryPolicy(outcome.service, outcome.handler);
        const exhausted = policy.maxAttempts !== null && retry.attempts >= policy.maxAttempts;
        const failure = {
          invocationId: id,
          target: formatTarget(outcome),
          attempt: retry.attempts,
          error: outcome.message,
        };
        if (exhausted || outcome.behavior !== undefined) {
          this.#retry.delete(id);
          const giveUp = outcome.behavior === 'fail' ? 'kill' : outcome.behavior === 'pause' ? 'pause' : policy.onMaxAttempts;
          this.deps.logger.warn(
            // biome-ignore lint/suspicious/noThenProperty: a log field (what happens next), not a thenable
            { ...failure, then: giveUp },
            exhausted ? 'invocation attempt failed; retry attempts exhausted' : 'invocation attempt failed; the handler asked not to retry',
          );
          const now = Date.now();
          recordInvocation(giveUp === 'kill' ? 'killed' : 'paused');
          if (giveUp === 'kill') attempt.gaveUp(outcome.message);
          const command: Command =
            giveUp === 'kill'
              ? { kind: 'fail', id, now, result: { ok: false, code: outcome.code ?? 500, message: outcome.message } }
              : { kind: 'op', op: 'pause', id, now };
          this.#giveUp(id, partition, command);
          return;
        }
        const delay = outcome.nextRetryDelayMs ?? backoffDelay(policy, retry.failures);
        recordRetry();
        this.deps.logger.warn({ ...failure, retryInMs: delay }, 'invocation attempt failed');
        retry.nextRetryAt = Date.now() + delay;
        const timer = setTimeout(() => {
          this.#backoff.delete(id);
          this.#start(id, partition);
        }, delay);
        this.#backoff.set(id, timer);
      }
    }
  }
}

/** `Service/handler` or `Object/key/handler`, as Restate writes an invocation target. */
function formatTarget(where: { service: string; handler: string; key: string | undefined }): string {
  if (where.service === '') return 'unknown';
  return where.key === undefined ? `${where.service}/${where.handler}` : `${where.service}/${where.key}/${where.handler}`;
}
