import type { Logger } from 'pino';
import type { LeaseStore, PartitionLease } from '../store/index.ts';
import type { Leadership } from '../worker/index.ts';

/** Milliseconds since the Unix epoch; injected so that tests decide when leases lapse. */
export type Clock = () => number;

/**
 * What this node holds of one partition.
 *
 * - `follower`: another node leads it, or nobody; this node does nothing for it.
 * - `acquiring`: a compare-and-set of the lease row is in flight.
 * - `recovering`: the lease is ours at `epoch`; the partition is being recovered (unapplied log
 *   tail, invocations, timers, outbox) and takes no commands yet.
 * - `leading`: the lease is ours at `epoch` and this node acts for the partition until
 *   `validUntil` (local clock), unless a renewal moves that forward.
 * - `releasing`: handed back (rebalance or shutdown); the node already stopped acting.
 */
export type LeaseState =
  | { readonly kind: 'follower' }
  | { readonly kind: 'acquiring' }
  | { readonly kind: 'recovering'; readonly epoch: number; readonly validUntil: number }
  | { readonly kind: 'leading'; readonly epoch: number; readonly validUntil: number }
  | { readonly kind: 'releasing'; readonly epoch: number };

/** What the lease manager needs. */
export interface LeaseManagerOptions {
  readonly store: LeaseStore;
  /** This node's name in the lease rows (`--node-name`); unique in the cluster. */
  readonly nodeName: string;
  /** Where other nodes reach this node's ingress, or '' (read at every heartbeat). */
  readonly address: string | (() => string);
  /** This process's secret, which node-to-node requests to it must carry. */
  readonly secret: string;
  readonly partitions: number;
  /** How long a lease runs without renewal (`--lease-duration`). */
  readonly leaseMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * The lease of `partition` is ours at `epoch`: recover the partition. Until it resolves the
   * partition takes no commands; if it rejects, the lease is released and tried again later.
   */
  readonly onGained: (partition: number, epoch: number) => Promise<void>;
  /** The partition is recovered and led: resume what it has in flight (invocations, timers, outbox). */
  readonly onLeading?: (partition: number, epoch: number) => void;
  /**
   * This node stopped acting for `partition` (renewal failed or late, rebalance, shutdown):
   * drop its in-memory work at once. Called synchronously on the step-down.
   */
  readonly onLost: (partition: number, epoch: number, reason: string) => void;
}

/**
 * Takes, renews and hands back the leases of this node's share of the partitions.
 *
 * Every `leaseMs / 3` a tick heartbeats this node's row, renews every lease it holds and then
 * balances: with N live nodes (the `nodes` heartbeat rows), it holds up to ceil(P / N)
 * partitions, takes free or expired leases while it holds fewer, and hands the surplus back.
 *
 * A lease is trusted for `leaseMs - margin` from the moment its last successful acquire or
 * renewal was *sent*, by this node's clock: the row says `sentAt + leaseMs`, so another node can
 * take over only after this node has stopped believing it leads. `epochOf` reads the clock on
 * every call, so a node frozen past its lease (SIGSTOP, a long GC pause) stops acting the
 * instant it runs again, before any timer of its own fires; a watchdog then steps it down and
 * drops its work. A renewal that fails, is refused or comes back late steps down as well. The
 * commit loop's epoch check inside each batch transaction is the last line: whatever this node
 * believes, a commit under a stale epoch cannot happen.
 *
 * Transitions happen in `#set` only; the per-partition states are documented on {@link LeaseState}.
 */
export class LeaseManager implements Leadership {
  readonly #states: LeaseState[];
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #margin: number;
  #ticker: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(private readonly o: LeaseManagerOptions) {
    this.#states = Array.from({ length: o.partitions }, () => ({ kind: 'follower' }) as LeaseState);
    // Room for the clocks of two nodes to disagree and for the step-down to take effect.
    this.#margin = Math.max(50, Math.floor(o.leaseMs / 10));
  }

  /** The epoch at which this node leads `partition` now, or undefined. */
  epochOf(partition: number): number | undefined {
    const s = this.#states[partition];
    if (s?.kind !== 'leading') return undefined;
    if (this.o.clock() >= s.validUntil) {
      this.#background(Promise.resolve().then(() => this.#expire(partition, s.epoch)));
      return undefined;
    }
    return s.epoch;
  }

  /** The state of every partition, for health and introspection. */
  states(): readonly LeaseState[] {
    return this.#states;
  }

  /** Partitions this node leads now. */
  leading(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.o.partitions; p++) if (this.epochOf(p) !== undefined) out.push(p);
    return out;
  }

  /** Runs the first tick (so a lone node leads before it serves) and keeps ticking. */
  async start(): Promise<void> {
    await this.tick();
    const every = Math.max(20, Math.floor(this.o.leaseMs / 3));
    this.#ticker = setInterval(() => void this.tick(), every);
    this.#ticker.unref();
    this.#watchdog = setInterval(() => this.#checkExpiry(), Math.max(10, Math.floor(this.#margin / 2)));
    this.#watchdog.unref();
  }

  /** One round of heartbeat, renewals and balancing; a round still running is not doubled. */
  tick(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#ticking ??= this.#round().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  /** Stops acting for every partition, hands the leases back and leaves the cluster. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#ticker) clearInterval(this.#ticker);
    if (this.#watchdog) clearInterval(this.#watchdog);
    await this.#ticking;
    const releases: Promise<void>[] = [];
    for (let p = 0; p < this.o.partitions; p++) releases.push(this.#release(p, 'node shutting down'));
    await Promise.allSettled(releases);
    await Promise.allSettled([...this.#tasks]);
    await this.o.store.leaveCluster(this.o.nodeName).catch((err: unknown) => this.o.logger.warn({ err }, 'leaving the cluster failed; the heartbeat row lapses by itself'));
  }

  async #round(): Promise<void> {
    const { store, nodeName, address, leaseMs, logger } = this.o;
    try {
      await store.heartbeat(nodeName, typeof address === 'string' ? address : address(), this.o.secret, this.o.clock(), leaseMs);
    } catch (err) {
      logger.warn({ err }, 'heartbeat failed; renewing leases anyway, they lapse on their own if the store stays away');
    }
    await Promise.all(this.#states.map((s, p) => (s.kind === 'leading' || s.kind === 'recovering' ? this.#renew(p, s.epoch) : undefined)));
    if (this.#stopped) return;
    try {
      await this.#balance();
    } catch (err) {
      logger.warn({ err }, 'balancing partitions failed; trying again at the next tick');
    }
  }

  async #renew(partition: number, epoch: number): Promise<void> {
    const sentAt = this.o.clock();
    let ok: boolean;
    try {
      ok = await this.o.store.renewLease(partition, this.o.nodeName, epoch, sentAt, this.o.leaseMs);
    } catch (err) {
      this.o.logger.warn({ err, partition, epoch }, 'renewing a lease failed');
      ok = false;
    }
    const s = this.#states[partition];
    if ((s?.kind !== 'leading' && s?.kind !== 'recovering') || s.epoch !== epoch) return;
    const validUntil = sentAt + this.o.leaseMs - this.#margin;
    if (!ok) return this.#stepDown(partition, epoch, 'the lease renewal failed or was refused');
    if (this.o.clock() >= validUntil) return this.#stepDown(partition, epoch, 'the lease renewal came back too late');
    this.#set(partition, { ...s, validUntil });
  }

  async #balance(): Promise<void> {
    const { store, nodeName, partitions, clock } = this.o;
    const now = clock();
    const nodes = await store.listNodes(now);
    const live = Math.max(1, nodes.length + (nodes.some((n) => n.name === nodeName) ? 0 : 1));
    const target = Math.ceil(partitions / live);
    const held = this.#states.filter((s) => s.kind === 'leading' || s.kind === 'recovering' || s.kind === 'acquiring').length;
    if (held > target) {
      const mine = this.#states.flatMap((s, p) => (s.kind === 'leading' ? [p] : []));
      const surplus = mine.slice(mine.length - (held - target));
      await Promise.allSettled(surplus.map((p) => this.#release(p, `rebalancing: ${live} nodes, ${target} partitions each`)));
      return;
    }
    if (held === target) return;
    const leases = new Map((await store.listLeases()).map((l) => [l.partition, l]));
    const free: number[] = [];
    for (let p = 0; p < partitions; p++) {
      if (this.#states[p]?.kind !== 'follower') continue;
      const l = leases.get(p);
      if (l === undefined || l.expiresAt <= now) free.push(p);
    }
    // Random order, so that nodes starting together do not all race for the same rows.
    for (let i = free.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [free[i], free[j]] = [free[j]!, free[i]!];
    }
    await Promise.all(free.slice(0, target - held).map((p) => this.#acquire(p)));
  }

  async #acquire(partition: number): Promise<void> {
    this.#set(partition, { kind: 'acquiring' });
    const sentAt = this.o.clock();
    let lease: PartitionLease | undefined;
    try {
      lease = await this.o.store.acquireLease(partition, this.o.nodeName, sentAt, this.o.leaseMs);
    } catch (err) {
      this.o.logger.warn({ err, partition }, 'taking a lease failed');
    }
    if (lease === undefined || this.#stopped) {
      this.#set(partition, { kind: 'follower' });
      if (lease !== undefined) await this.o.store.releaseLease(partition, this.o.nodeName, lease.epoch).catch(() => undefined);
      return;
    }
    const validUntil = sentAt + this.o.leaseMs - this.#margin;
    this.#set(partition, { kind: 'recovering', epoch: lease.epoch, validUntil });
    this.o.logger.info({ partition, epoch: lease.epoch }, 'took the lease; recovering the partition');
    const startedAt = this.o.clock();
    try {
      await this.o.onGained(partition, lease.epoch);
    } catch (err) {
      this.o.logger.warn({ err, partition, epoch: lease.epoch }, 'recovering a partition failed; handing its lease back');
      await this.#release(partition, 'recovery failed');
      return;
    }
    const s = this.#states[partition];
    if (s?.kind !== 'recovering' || s.epoch !== lease.epoch) return;
    this.#set(partition, { kind: 'leading', epoch: lease.epoch, validUntil: s.validUntil });
    this.o.logger.info({ partition, epoch: lease.epoch, recoveryMs: this.o.clock() - startedAt }, 'leading the partition');
    this.o.onLeading?.(partition, lease.epoch);
  }

  /** Stops acting for `partition` (if this node does) and ends its lease in the store. */
  async #release(partition: number, reason: string): Promise<void> {
    const s = this.#states[partition];
    if (s?.kind !== 'leading' && s?.kind !== 'recovering') return;
    this.#set(partition, { kind: 'releasing', epoch: s.epoch });
    this.o.onLost(partition, s.epoch, reason);
    try {
      await this.o.store.releaseLease(partition, this.o.nodeName, s.epoch);
      this.o.logger.info({ partition, epoch: s.epoch, reason }, 'handed the lease back');
    } catch (err) {
      this.o.logger.warn({ err, partition, epoch: s.epoch }, 'handing a lease back failed; it lapses by itself');
    } finally {
      this.#set(partition, { kind: 'follower' });
    }
  }

  #checkExpiry(): void {
    const now = this.o.clock();
    this.#states.forEach((s, p) => {
      if ((s.kind === 'leading' || s.kind === 'recovering') && now >= s.validUntil) this.#expire(p, s.epoch);
    });
  }

  #expire(partition: number, epoch: number): void {
    this.#stepDown(partition, epoch, 'the lease ran out before it was renewed');
  }

  /** Leaves a lease this node can no longer trust: stop acting now; the row lapses or moved on. */
  #stepDown(partition: number, epoch: number, reason: string): void {
    const s = this.#states[partition];
    if ((s?.kind !== 'leading' && s?.kind !== 'recovering') || s.epoch !== epoch) return;
    this.#set(partition, { kind: 'follower' });
    this.o.logger.warn({ partition, epoch, reason }, 'stepped down from a partition');
    this.o.onLost(partition, epoch, reason);
  }

  #set(partition: number, next: LeaseState): void {
    const prev = this.#states[partition];
    if (prev === undefined) throw new Error(`partition ${partition} out of range`);
    if (!ALLOWED[prev.kind].includes(next.kind)) throw new Error(`lease of partition ${partition}: ${prev.kind} → ${next.kind} is not a transition`);
    this.#states[partition] = next;
  }

  #background(task: Promise<unknown>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }
}

const ALLOWED: Record<LeaseState['kind'], readonly LeaseState['kind'][]> = {
  follower: ['acquiring'],
  acquiring: ['recovering', 'follower'],
  recovering: ['leading', 'recovering', 'releasing', 'follower'],
  leading: ['leading', 'releasing', 'follower'],
  releasing: ['follower'],
};
