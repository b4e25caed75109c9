/** Why a store refuses writes, as far as its backend can tell. */
export const StoreRefusal = {
  /** The disk (or the database's quota) is full. */
  DiskFull: 'disk-full',
  /** The backend failed to write or to reach its storage (I/O error, read-only, unreachable). */
  Failing: 'failing',
} as const;
/** A reason a store refuses writes. */
export type StoreRefusal = (typeof StoreRefusal)[keyof typeof StoreRefusal];

/**
 * The store refused to commit a transaction: nothing of it was written. Not a verdict on the
 * commands it held (they were not applied), so retryable: submitters may try again once the
 * store accepts writes again. Answered with 503 where a client is waiting.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'ENDURE_STORE_UNAVAILABLE';
  readonly status = 503;
  readonly retryable = true;

  constructor(
    readonly reason: StoreRefusal,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      reason === StoreRefusal.DiskFull
        ? `the store is refusing writes: the disk is full (${detail})`
        : `the store is refusing writes (${detail})`,
      options,
    );
    this.name = 'StoreUnavailableError';
  }

  /** `err` if it already is one, else a StoreUnavailableError that wraps it. */
  static from(err: unknown): StoreUnavailableError {
    if (err instanceof StoreUnavailableError) return err;
    return new StoreUnavailableError(StoreRefusal.Failing, err instanceof Error ? err.message : String(err), { cause: err });
  }
}
