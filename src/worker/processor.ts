import type { Logger } from 'pino';
import type { Partitioner } from '../sharding/index.ts';
import type { PartitionStore, PartitionTx } from '../store/index.ts';
import { decodeCommand, encodeCommand } from '../log/index.ts';
import type { Action, Command } from './model.ts';
import { NotLeaderError, type Leadership } from './leadership.ts';
import { apply } from './state-machine.ts';

interface Pending {
  readonly partition: number;
  readonly command: Command;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** How many applied records each partition keeps in its log, for inspection. */
const LOG_TAIL = 1000;

/**
 * The partition processors of the partitions this node leads, sharing one commit loop.
 *
 * Commands submitted close together form one batch: each is appended to its partition's log and
 * applied, and the partition's applied LSN advances, all in one store transaction — one fsync
 * for the batch (group commit). The next batch may be applied while the disk flushes this one,
 * but only once a batch is durable do its `submit` promises resolve and its actions run, in
 * commit order (rules 1 and 3: log first; act only after a durable commit). A command whose
 * apply throws is rolled back alone (savepoint) and its submitter gets the error.
 *
 * With a `leadership`, every batch first locks the lease rows of its partitions inside its own
 * transaction and compares their epochs with the ones this node leads at (rule 4): commands of
 * a partition whose lease moved on are refused with NotLeaderError and write nothing, and no
 * takeover can commit until the batch has.
 *
 * States: idle → flushing → idle; `close` drains and then rejects new submits.
 */
export class Worker {
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  #closed = false;
  readonly #lsn = new Map<number, number>();
  readonly #applied = new Map<number, number>();
  readonly #trimmed = new Map<number, number>();
  /** Settles when every committed batch has been acknowledged. */
  #acked: Promise<void> = Promise.resolve();
  /** Set when the disk refused a flush: nothing can be acknowledged any more. */
  #broken: unknown;
  /**
   * Partitions whose last commit failed: the failure may have come after the commit took effect
   * (a connection lost around COMMIT), so their next LSN is read from the store, not assumed.
   */
  readonly #resync = new Set<number>();

  constructor(
    private readonly store: PartitionStore,
    private readonly partitioner: Partitioner,
    private readonly onActions: (actions: Action[]) => void,
    private readonly logger: Logger,
    private readonly leadership?: Leadership,
  ) {}

  /**
   * Replays every partition's unapplied log tail (records appended but not applied before a
   * crash), so the state machine is current before the node starts acting.
   */
  async recover(): Promise<void> {
    for (let p = 0; p < this.partitioner.partitions; p++) {
      const fsm = await this.store.getFsm(p);
      const tail = await this.store.readLog(p, fsm.appliedLsn);
      let last = fsm.appliedLsn;
      const actions: Action[] = [];
      await this.store.transaction(async (tx) => {
        for (const rec of tail) {
          const { command } = decodeCommand(rec.payload);
          actions.push(...(await apply(tx, { partition: p, partitioner: this.partitioner }, command)));
          last = rec.lsn;
        }
        const f = await tx.getFsm(p);
        f.appliedLsn = last;
        await tx.putFsm(p, f);
      });
      this.#lsn.set(p, last);
      this.#applied.set(p, last);
      // Actions of records replayed here are re-derived by the leader's start-up scan.
      void actions;
    }
  }

  /** Appends `command` to `partition`'s log and applies it; resolves once durable and applied. */
  submit(partition: number, command: Command): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('worker is closed'));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#pending.push({ partition, command, resolve, reject });
      this.#schedule();
    });
  }

  /** Waits for in-flight batches and refuses new submits. */
  async close(): Promise<void> {
    while (this.#flushing || this.#pending.length > 0) {
      if (!this.#flushing) this.#schedule();
      await this.#flushing;
      await new Promise((r) => setImmediate(r));
    }
    await this.#acked;
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#pending.length > 0) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const actions: Action[] = [];
    const failed = new Map<Pending, unknown>();
    const touched = new Set<number>();
    const resynced = new Map<number, number>();
    let durable: Promise<void>;
    try {
      ({ durable } = await this.store.commit(async (tx) => {
        for (const p of new Set(batch.map((e) => e.partition))) {
          if (!this.#resync.has(p)) continue;
          const { appliedLsn } = await tx.getFsm(p);
          this.#lsn.set(p, appliedLsn);
          resynced.set(p, appliedLsn);
        }
        const fenced = await this.#fence(tx, batch);
        for (const entry of batch) {
          const p = entry.partition;
          const stale = fenced.get(p);
          if (stale) {
            failed.set(entry, stale);
            continue;
          }
          const lsn = (this.#lsn.get(p) ?? 0) + 1;
          try {
            const produced = await this.store.savepoint(tx, async () => {
              await tx.appendLog(p, lsn, encodeCommand(entry.command));
              return apply(tx, { partition: p, partitioner: this.partitioner }, entry.command);
            });
            this.#lsn.set(p, lsn);
            touched.add(p);
            actions.push(...produced);
          } catch (err) {
            failed.set(entry, err);
          }
        }
        for (const p of touched) {
          const fsm = await tx.getFsm(p);
          fsm.appliedLsn = this.#lsn.get(p) ?? 0;
          await tx.putFsm(p, fsm);
        }
      }));
    } catch (err) {
      // The batch did not commit, or its outcome is unknown: fail every submitter (producers
      // retry, and deduplication absorbs a retry of what did commit) and re-read the LSNs.
      for (const p of [...touched, ...resynced.keys()]) {
        this.#lsn.set(p, this.#applied.get(p) ?? 0);
        this.#resync.add(p);
      }
      this.logger.error({ err }, 'commit of a batch failed');
      for (const e of batch) e.reject(err);
      return;
    }
    for (const [p, lsn] of resynced) {
      this.#applied.set(p, lsn);
      this.#resync.delete(p);
    }
    for (const p of touched) this.#applied.set(p, this.#lsn.get(p) ?? 0);
    // The next batch may commit while this one flushes to disk; answers and actions wait for
    // durability, in commit order (durable promises resolve in order).
    this.#acked = this.#acked.then(
      () => durable.then(() => this.#acknowledge(batch, failed, actions, touched)),
      () => undefined,
    ).catch((err: unknown) => {
      this.#broken = err;
      this.logger.fatal({ err }, 'flushing a commit to disk failed; refusing further work');
      for (const e of batch) e.reject(err);
    });
  }

  /**
   * Locks and checks the lease epoch of every partition in the batch (all at once: the reads
   * travel together); returns the error for each partition this node does not lead any more.
   */
  async #fence(tx: PartitionTx, batch: Pending[]): Promise<Map<number, NotLeaderError>> {
    const stale = new Map<number, NotLeaderError>();
    const leadership = this.leadership;
    if (!leadership) return stale;
    const partitions = [...new Set(batch.map((e) => e.partition))];
    const epochs = await Promise.all(partitions.map((p) => tx.lockEpoch(p)));
    partitions.forEach((p, i) => {
      const believed = leadership.epochOf(p);
      const current = epochs[i];
      if (believed === undefined || believed !== current) stale.set(p, new NotLeaderError(p, believed, current));
    });
    return stale;
  }

  #acknowledge(batch: Pending[], failed: Map<Pending, unknown>, actions: Action[], touched: Set<number>): void {
    for (const e of batch) {
      const err = failed.get(e);
      if (err === undefined) e.resolve();
      else {
        this.logger.error({ err, command: e.command.kind, partition: e.partition }, 'apply failed');
        e.reject(err);
      }
    }
    if (actions.length > 0) this.onActions(actions);
    for (const p of touched) {
      const applied = this.#applied.get(p) ?? 0;
      const trimmed = this.#trimmed.get(p) ?? 0;
      if (applied - trimmed >= 2 * LOG_TAIL) {
        this.#trimmed.set(p, applied - LOG_TAIL);
        this.store.trimLog(p, applied - LOG_TAIL).catch((err: unknown) => {
          // Trimming is housekeeping: a later batch tries again.
          this.#trimmed.set(p, trimmed);
          this.logger.warn({ err, partition: p }, 'trimming the log failed');
        });
      }
    }
  }
}
