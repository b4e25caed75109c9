/** Exponential backoff between attempts of one invocation. */
export interface RetryPolicy {
  readonly initialIntervalMs: number;
  readonly factor: number;
  readonly maxIntervalMs: number;
  /** Attempts including the first; null: unlimited. */
  readonly maxAttempts: number | null;
  /** What happens when the attempts are exhausted. */
  readonly onMaxAttempts: 'pause' | 'kill';
}

/** Delay before retry number `failures` (1 = first retry). */
export function backoffDelay(policy: RetryPolicy, failures: number): number {
  const raw = policy.initialIntervalMs * policy.factor ** Math.max(0, failures - 1);
  return Math.min(raw, policy.maxIntervalMs);
}

/**
 * What the invoker remembers of an invocation between attempts. In memory only: after a crash
 * the counters restart, as Restate documents for `retry_count_since_last_stored_entry`.
 */
export class RetryState {
  /** Failed attempts in all, against the policy's maximum. */
  attempts = 0;
  /** Consecutive failed attempts, for the backoff. */
  failures = 0;
  /** Failed attempts since an attempt last stored a journal entry (sent to the SDK in StartMessage). */
  retryCountSinceStored = 0;
  /** When an entry was last stored (epoch ms), for `duration_since_last_stored_entry`. */
  lastStoredAt = Date.now();
  /** When the current or last attempt started (epoch ms). */
  lastStartAt: number | undefined;
  /** Why the last attempt failed, for introspection. */
  lastFailure: { readonly message: string; readonly code: number | undefined } | undefined;
  /** When the next attempt starts, while backing off (epoch ms). */
  nextRetryAt: number | undefined;
}
