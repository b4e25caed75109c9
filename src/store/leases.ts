// Partition leadership as the store records it: one lease row per partition, whose epoch grows
// by compare-and-set on every takeover. Fencing (rule 4) rests on it: a batch transaction locks
// its partitions' lease rows and checks their epochs, so a leader that lost its lease cannot
// commit, and a takeover cannot commit while a batch of the old leader is in flight.

/** Who leads a partition, at which epoch, until when. */
export interface PartitionLease {
  readonly partition: number;
  readonly leader: string;
  readonly epoch: number;
  /** End of the lease, in milliseconds since the Unix epoch, by the clock of whoever renewed it. */
  readonly expiresAt: number;
}

/** A node of the cluster as its heartbeat row says. */
export interface ClusterNode {
  readonly name: string;
  /** Where other nodes reach its ingress (`--advertise-address`), or '' when it advertises none. */
  readonly address: string;
  /** The node process's secret, which node-to-node requests to it carry. */
  readonly secret: string;
  /** End of its heartbeat, in milliseconds since the Unix epoch, by its own clock. */
  readonly expiresAt: number;
}

/** The lease table. Every method is one atomic statement; none waits for the lease to lapse. */
export interface LeaseStore {
  /**
   * Takes the lease of `partition` for `leader` when nobody holds a live one (no lease yet, a
   * lease expired at `now`, or `leader`'s own): the epoch grows by one and the lease runs until
   * `now + ttlMs`. Resolves with the new lease, or undefined when another leader's lease is live.
   * Taking over one's own lease fences one's own earlier incarnation (a restarted process).
   */
  acquireLease(partition: number, leader: string, now: number, ttlMs: number): Promise<PartitionLease | undefined>;
  /** Extends the lease to `now + ttlMs` if `leader` still holds it at `epoch`; false otherwise. */
  renewLease(partition: number, leader: string, epoch: number, now: number, ttlMs: number): Promise<boolean>;
  /** Ends the lease at once if `leader` still holds it at `epoch`, so the next leader need not wait. */
  releaseLease(partition: number, leader: string, epoch: number): Promise<void>;
  /** Every lease, by partition. */
  listLeases(): Promise<PartitionLease[]>;
  /** Records that node `name` is alive until `now + ttlMs`, reachable at `address` with `secret`. */
  heartbeat(name: string, address: string, secret: string, now: number, ttlMs: number): Promise<void>;
  /** Removes node `name` from the live nodes at once (clean shutdown). */
  leaveCluster(name: string): Promise<void>;
  /** The nodes whose heartbeat has not lapsed at `now`, by name. */
  listNodes(now: number): Promise<ClusterNode[]>;
}
