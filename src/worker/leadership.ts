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

export { NotLeaderError } from '../types/index.ts';
