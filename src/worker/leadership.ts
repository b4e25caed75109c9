/**
 * Fencing as the commit loop sees it (rule 4). The worker does not decide who leads: it asks the
 * one owner of that answer before every batch, and checks the answer against the lease epoch
 * locked inside the batch's own transaction.
 */

/** The owner of "does this node lead partition p, and at which epoch". */
export interface Leadership {
  /** The epoch at which this node leads `partition`, or undefined when it does not lead it. */
  epochOf(partition: number): number | undefined;
}

/** A command refused because this node does not lead its partition at the lease's current epoch. */
export class NotLeaderError extends Error {
  readonly code = 'ENDURE_NOT_LEADER';
  /** Service unavailable here: the partition's current leader, or a later attempt, may take it. */
  readonly status = 503;
  readonly retryable = true;

  constructor(
    readonly partition: number,
    /** The epoch this node believed it led at (undefined: it believed it did not lead). */
    readonly believed: number | undefined,
    /** The epoch of the lease in the store (undefined: the partition never had a lease). */
    readonly current: number | undefined,
  ) {
    super(
      believed === undefined
        ? `this node does not lead partition ${partition}`
        : `partition ${partition} is led at epoch ${current ?? 'none'}, not at this node's epoch ${believed}`,
    );
    this.name = 'NotLeaderError';
  }
}
