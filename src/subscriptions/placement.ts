/**
 * The one place that answers "does this node consume that subscription". Every consumer is
 * started or stopped by asking it, nothing caches the answer. A single node consumes every
 * subscription; in a cluster the answer comes from the same leases that place partitions.
 */
export interface ConsumerPlacement {
  consumes(subscriptionId: string): boolean;
}

/** Placement of a single node: it consumes every subscription. */
export const SINGLE_NODE_PLACEMENT: ConsumerPlacement = { consumes: () => true };
