// Not leading a partition, as every layer sees it: the worker refuses a command of a partition
// it does not lead at the lease's current epoch, and the ingress and admin API turn that refusal
// into a 503 that the node's forwarding layer sends on to the partition's leader.

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

/**
 * Header of a 503 saying which partition this node does not lead: the node's forwarding layer
 * sends the request on to that partition's leader. Nothing was appended, so resending is safe.
 */
export const NOT_LEADER_HEADER = 'x-endure-not-leader-of';
