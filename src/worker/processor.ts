import type { Logger } from 'pino';
import { recordAppend, recordCommit } from '../common/metrics.ts';
import type { Partitioner } from '../sharding/index.ts';
import { StoreUnavailableError, type PartitionStore, type PartitionTx } from '../store/index.ts';
import { decodeCommand, encodeCommand } from '../log/index.ts';
import type { Action, Command, OutboxMessage } from './model.ts';
import { NotLeaderError, type Leadership } from './leadership.ts';
import { apply, enqueueOutbox, type LocalDelivery } from './state-machine.ts';

interface Pending {
  readonly partition: number;
  readonly command: Command;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** How many applied records each partition keeps in its log, for inspection. */
const LOG_TAIL = 1000;

/** Delays between probes of a store that refused a commit: from the first to the cap. */
const PROBE_FIRST_MS = 100;
const PROBE_MAX_MS = 2000;
/**
 * A refusal this soon after the last one ended continues its backoff. A nearly full disk takes
 * small writes (the probe) and refuses larger ones: without this, every small success would
 * restart the refused submitters at the first, shortest delay.
 */
const PROBE_MEMORY_MS = 30_000;

/** Whether the worker takes commands; see {@link Worker}. */
export type WorkerHealth =
  | { readonly state: 'accepting' }
  | { readonly state: 'refusing'; readonly since: number; readonly error: StoreUnavailableError }
  | { readonly state: 'broken'; readonly error: unknown };

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
 * A commit the store refuses (disk full, I/O error) leaves nothing half-done: the batch rolled
 * back, so its LSNs are handed out again and every submitter gets a StoreUnavailableError — and
 * so does every command queued behind it, and every submit until a probe commit succeeds. That
 * is what lets a submitter whose command failed rely on none of its later commands (sent
 * before it learned of the failure) being applied without it: an attempt's journal keeps no
 * gaps. Submitters retry what was refused (see `writable`) or hand the 503 to their client.
 *
 * States: idle → flushing → idle, while accepting; accepting → refusing (probe with backoff)
 * → accepting; a failed flush to disk makes the worker broken for good (what was flushed is
 * unknown, so nothing may be acknowledged any more). `close` drains and then rejects new submits.
 */
export class Worker {
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  #closed = false;
  readonly #lsn = new Map<number, number>();
  readonly #applied = new Map<number, number>();
  readonly #trimmed = new Map<number, number>();
  /** Per partition, the last LSN whose batch is durable and acknowledged. */
  readonly #durable = new Map<number, number>();
  /** Settles when every committed batch has been acknowledged. */
  #acked: Promise<void> = Promise.resolve();
  /** Set when the disk refused a flush: nothing can be acknowledged any more. */
  #broken: unknown;
  /**
   * Partitions whose last commit failed: the failure may have come after the commit took effect
   * (a connection lost around COMMIT), so their next LSN is read from the store, not assumed.
   */
  readonly #resync = new Set<number>();
  /** Set while the store refuses commits; cleared by a successful commit. */
  #refusing: { since: number; error: StoreUnavailableError; delayMs: number; timer: NodeJS.Timeout | undefined } | undefined;
  /** When the last refusal ended, and the probe delay it had reached. */
  #lastRefusal = { endedAt: Number.NEGATIVE_INFINITY, delayMs: PROBE_FIRST_MS };
  /** Resolved (and replaced) whenever the worker goes from refusing to accepting. */
  #writable = gate();

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
      this.#durable.set(p, last);
      // Actions of records replayed here are re-derived by the leader's start-up scan.
      void actions;
    }
  }

  /**
   * Brings one partition up to date when this node takes its lease at `epoch`: replays the
   * log's unapplied tail (records another leader appended and did not apply) in a transaction
   * fenced by that epoch, and reads the LSNs afresh (whatever this node knew from an earlier
   * term is stale). The partition must not take commands until this resolves.
   */
  async recoverPartition(p: number, epoch: number): Promise<void> {
    // Read outside the transaction (reads may queue behind it); the previous leader can no
    // longer commit once our epoch is in the row, so the tail read here is the whole tail.
    const before = (await this.store.getFsm(p)).appliedLsn;
    const tail = await this.store.readLog(p, before);
    let last = before;
    const { durable } = await this.store.commit(async (tx) => {
      const current = await tx.lockEpoch(p);
      if (current !== epoch) throw new NotLeaderError(p, epoch, current);
      const fsm = await tx.getFsm(p);
      if (fsm.appliedLsn !== before) throw new Error(`partition ${p} moved from LSN ${before} to ${fsm.appliedLsn} while it was recovered`);
      for (const rec of tail) {
        const { command } = decodeCommand(rec.payload);
        await apply(tx, { partition: p, partitioner: this.partitioner }, command);
        last = rec.lsn;
      }
      if (last !== fsm.appliedLsn) {
        fsm.appliedLsn = last;
        await tx.putFsm(p, fsm);
      }
    });
    await durable;
    this.#lsn.set(p, last);
    this.#applied.set(p, last);
    this.#durable.set(p, last);
    this.#resync.delete(p);
    this.#trimmed.delete(p);
  }

  /**
   * Appends `command` to `partition`'s log and applies it; resolves once durable and applied.
   * Rejects with StoreUnavailableError, without applying it, while the store refuses writes.
   */
  submit(partition: number, command: Command): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('worker is closed'));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    if (this.#refusing) return Promise.reject(this.#refusing.error);
    return new Promise((resolve, reject) => {
      this.#pending.push({ partition, command, resolve, reject });
      this.#schedule();
    });
  }

  /** Whether submits are taken now, and if not, why. */
  health(): WorkerHealth {
    if (this.#broken !== undefined) return { state: 'broken', error: this.#broken };
    if (this.#refusing) return { state: 'refusing', since: this.#refusing.since, error: this.#refusing.error };
    return { state: 'accepting' };
  }

  /**
   * Resolves once the worker accepts submits (at once if it does): what a submitter whose
   * command was refused waits for before trying again. Never resolves once the worker is
   * broken or closed.
   */
  writable(): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return new Promise(() => undefined);
    return this.#refusing ? this.#writable.opened : Promise.resolve();
  }

  /** Per partition: the last LSN appended and the last one applied and durable (for metrics). */
  progress(): { partition: number; appended: number; applied: number }[] {
    const out = [];
    for (let p = 0; p < this.partitioner.partitions; p++) {
      out.push({ partition: p, appended: this.#lsn.get(p) ?? 0, applied: this.#durable.get(p) ?? 0 });
    }
    return out;
  }

  /** Commands submitted and not yet taken into a batch. */
  get pendingCount(): number {
    return this.#pending.length;
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
    if (this.#refusing?.timer) clearTimeout(this.#refusing.timer);
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
    /** Kinds of the messages applied in this batch besides the submitted commands (metrics). */
    const localKinds: Command['kind'][] = [];
    let durable: Promise<void>;
    const startedAt = performance.now();
    try {
      ({ durable } = await this.store.commit(async (tx) => {
        for (const p of new Set(batch.map((e) => e.partition))) {
          if (!this.#resync.has(p)) continue;
          const { appliedLsn } = await tx.getFsm(p);
          this.#lsn.set(p, appliedLsn);
          resynced.set(p, appliedLsn);
        }
        const partitions = [...new Set(batch.map((e) => e.partition))];
        const fenced = await this.#fence(tx, partitions);
        // Partitions a message may be applied to in this batch: with a leadership, those whose
        // epoch this transaction checked; without one, every partition whose LSN is known.
        const open = new Set(partitions.filter((p) => !fenced.has(p)));
        const accepts = (q: number): boolean => (this.leadership ? open.has(q) : !this.#resync.has(q) || resynced.has(q));
        const step = async (p: number, command: Command): Promise<OutboxMessage[]> => {
          const lsn = (this.#lsn.get(p) ?? 0) + 1;
          const sent: OutboxMessage[] = [];
          const local: LocalDelivery = { accepts, deliver: (m) => sent.push(m) };
          const produced = await this.store.savepoint(tx, async () => {
            await tx.appendLog(p, lsn, encodeCommand(command));
            return apply(tx, { partition: p, partitioner: this.partitioner, local }, command);
          });
          this.#lsn.set(p, lsn);
          touched.add(p);
          actions.push(...produced);
          return sent;
        };
        for (const entry of batch) {
          const p = entry.partition;
          const stale = fenced.get(p);
          if (stale) {
            failed.set(entry, stale);
            continue;
          }
          let sent: OutboxMessage[];
          try {
            sent = await step(p, entry.command);
          } catch (err) {
            // The store refusing a write is no verdict on this command: the batch fails whole.
            if (err instanceof StoreUnavailableError) throw err;
            failed.set(entry, err);
            continue;
          }
          // Messages between partitions of this batch (a call, its response) are applied here,
          // in the order they were sent, each after the command that sent it: one transaction
          // and one flush instead of an outbox row, a shuffle, a second batch and a truncation.
          const queue = sent.map((message) => ({ source: p, message }));
          // Sources one of whose messages had to take the outbox: their later ones follow it there.
          const viaOutbox = new Set<number>();
          for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
            const { source, message } = next;
            if (viaOutbox.has(source)) {
              actions.push(await this.store.savepoint(tx, () => enqueueOutbox(tx, source, message)));
              touched.add(source);
              continue;
            }
            try {
              const more = await step(message.partition, message.command);
              localKinds.push(message.command.kind);
              for (const m of more) queue.push({ source: message.partition, message: m });
            } catch (err) {
              if (err instanceof StoreUnavailableError) throw err;
              // The target refused it: it takes the outbox after all, whose shuffle retries it.
              this.logger.warn({ err, command: message.command.kind, partition: message.partition }, 'applying a message in its batch failed; sending it through the outbox');
              actions.push(await this.store.savepoint(tx, () => enqueueOutbox(tx, source, message)));
              touched.add(source);
              viaOutbox.add(source);
            }
          }
        }
        for (const p of touched) {
          const fsm = await tx.getFsm(p);
          fsm.appliedLsn = this.#lsn.get(p) ?? 0;
          await tx.putFsm(p, fsm);
        }
      }));
    } catch (err) {
      // The batch did not commit, or its outcome is unknown (a connection lost around COMMIT):
      // forget the LSNs it used and re-read them from the store before the next batch, fail
      // every submitter, and every command queued behind the batch (see the class comment).
      // Producers retry, and deduplication absorbs a retry of what did commit.
      for (const p of [...touched, ...resynced.keys()]) {
        this.#lsn.set(p, this.#applied.get(p) ?? 0);
        this.#resync.add(p);
      }
      const refused = StoreUnavailableError.from(err);
      const queued = this.#pending;
      this.#pending = [];
      this.#refuse(refused, batch.length + queued.length);
      for (const e of batch) e.reject(refused);
      for (const e of queued) e.reject(refused);
      return;
    }
    for (const [p, lsn] of resynced) {
      this.#applied.set(p, lsn);
      this.#resync.delete(p);
    }
    for (const p of touched) this.#applied.set(p, this.#lsn.get(p) ?? 0);
    const applied = [...touched].map((p) => [p, this.#lsn.get(p) ?? 0] as const);
    // The next batch may commit while this one flushes to disk; answers and actions wait for
    // durability, in commit order (durable promises resolve in order).
    this.#acked = this.#acked.then(
      () =>
        durable.then(() => {
          recordCommit(batch.length, (performance.now() - startedAt) / 1000);
          for (const e of batch) if (!failed.has(e)) recordAppend(e.command.kind);
          for (const kind of localKinds) recordAppend(kind);
          for (const [p, lsn] of applied) this.#durable.set(p, lsn);
          this.#acknowledge(batch, failed, actions, touched);
        }),
      () => undefined,
    ).catch((err: unknown) => {
      this.#broken = err;
      this.logger.fatal({ err }, 'flushing a commit to disk failed; refusing further work');
      for (const e of batch) e.reject(err);
    });
  }

  /**
   * Locks and checks the lease epoch of each of `partitions` (all at once: the reads travel
   * together); returns the error for each partition this node does not lead any more.
   */
  async #fence(tx: PartitionTx, partitions: number[]): Promise<Map<number, NotLeaderError>> {
    const stale = new Map<number, NotLeaderError>();
    const leadership = this.leadership;
    if (!leadership) return stale;
    const epochs = await Promise.all(partitions.map((p) => tx.lockEpoch(p)));
    partitions.forEach((p, i) => {
      const believed = leadership.epochOf(p);
      const current = epochs[i];
      if (believed === undefined || believed !== current) stale.set(p, new NotLeaderError(p, believed, current));
    });
    return stale;
  }

  /** Enters (or stays in) the refusing state, and keeps probing the store until it accepts a write. */
  #refuse(error: StoreUnavailableError, dropped: number): void {
    if (this.#refusing) {
      this.#refusing.error = error;
      return;
    }
    this.logger.error({ err: error, commands: dropped }, 'the store refused a commit; refusing commands until it accepts writes again');
    const now = Date.now();
    const delayMs = now - this.#lastRefusal.endedAt < PROBE_MEMORY_MS ? this.#lastRefusal.delayMs : PROBE_FIRST_MS;
    this.#refusing = { since: now, error, delayMs, timer: undefined };
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    const refusing = this.#refusing;
    if (!refusing || this.#closed) return;
    refusing.timer = setTimeout(() => void this.#probe(), refusing.delayMs);
    refusing.timer.unref();
    refusing.delayMs = Math.min(refusing.delayMs * 2, PROBE_MAX_MS);
  }

  /**
   * Tries a write that changes nothing — one partition's fsm record, rewritten as it is — to
   * learn whether the store takes writes again. The partition is one this worker leads, and the
   * probe is fenced like any other commit: it never writes to a partition another node leads.
   * Submits stay refused meanwhile, so no command can slip in ahead of a submitter that has not
   * yet seen its own command refused.
   */
  async #probe(): Promise<void> {
    const refusing = this.#refusing;
    if (!refusing || this.#closed) return;
    try {
      const { durable } = await this.store.commit(async (tx) => {
        const p = this.#probePartition();
        if (p === undefined) return;
        const stale = (await this.#fence(tx, [p])).get(p);
        if (stale) throw stale;
        await tx.putFsm(p, await tx.getFsm(p));
      });
      await durable;
    } catch (err) {
      refusing.error = StoreUnavailableError.from(err);
      this.logger.debug({ err }, 'the store still refuses writes');
      this.#scheduleProbe();
      return;
    }
    this.#refusing = undefined;
    this.#lastRefusal = { endedAt: Date.now(), delayMs: refusing.delayMs };
    this.logger.warn({ refusedForMs: Date.now() - refusing.since }, 'the store accepts writes again');
    const writable = this.#writable;
    this.#writable = gate();
    writable.open();
  }

  /** A partition this worker leads (without a leadership it leads them all), if any. */
  #probePartition(): number | undefined {
    const leadership = this.leadership;
    if (!leadership) return 0;
    for (let p = 0; p < this.partitioner.partitions; p++) if (leadership.epochOf(p) !== undefined) return p;
    return undefined;
  }

  #acknowledge(batch: Pending[], failed: Map<Pending, unknown>, actions: Action[], touched: Set<number>): void {
    for (const e of batch) {
      const err = failed.get(e);
      if (err === undefined) e.resolve();
      else {
        // A fenced command is no failure of its own: its submitter sends it to the leader.
        if (err instanceof NotLeaderError) this.logger.debug({ err, command: e.command.kind, partition: e.partition }, 'refused: not the leader');
        else this.logger.error({ err, command: e.command.kind, partition: e.partition }, 'apply failed');
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

/** A promise opened from outside (Node 20 has no Promise.withResolvers). */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
