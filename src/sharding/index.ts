/**
 * Which partition owns a partition key. The key space [0, 2^64) is split into `partitions` equal
 * ranges, fixed when the data directory (or cluster) is created: changing the count would move
 * keys between partitions and is refused at start-up.
 */
import { parseInvocationId } from '../types/index.ts';

/** Maps partition keys to partition indexes for a fixed partition count. */
export class Partitioner {
  readonly #count: bigint;
  constructor(readonly partitions: number) {
    if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`bad partition count ${partitions}`);
    this.#count = BigInt(partitions);
  }

  /** The partition owning `partitionKey`. */
  partitionOf(partitionKey: bigint): number {
    return Number((partitionKey * this.#count) >> 64n);
  }

  /** The partition owning the invocation with this text id (throws IdDecodeError if malformed). */
  partitionOfInvocation(id: string): number {
    return this.partitionOf(parseInvocationId(id).partitionKey);
  }
}
