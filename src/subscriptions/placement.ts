import type { Partitioner } from '../sharding/index.ts';
import { partitionKeyOf } from '../types/index.ts';

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

/** The partition whose leader consumes a subscription: derived from its id, as a schedule's is. */
export function subscriptionPartition(partitioner: Partitioner, subscriptionId: string): number {
  return partitioner.partitionOf(partitionKeyOf(`subscription/${subscriptionId}`));
}

/**
 * Placement in a cluster: a subscription is consumed by the node that leads its partition
 * ({@link subscriptionPartition}), so at most one node consumes it while leases hold, and it
 * moves with the lease. `leads` is the lease manager's answer, asked on every call.
 */
export function leaderPlacement(partitioner: Partitioner, leads: (partition: number) => boolean): ConsumerPlacement {
  return { consumes: (id) => leads(subscriptionPartition(partitioner, id)) };
}
