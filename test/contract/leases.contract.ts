// The lease and fencing contract: partition leases taken by compare-and-set with a growing
// epoch, and a worker whose lease moved on committing nothing. A backend's test file calls
// `leaseContract` with a factory that returns a fresh, empty store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logger.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import type { PartitionStore } from '../../src/store/index.ts';
import { NotLeaderError, Worker, type Command, type Leadership } from '../../src/worker/index.ts';
import type { Opened } from './fixtures.ts';

const P = 3;
const R = 5;
const TTL = 1_000;

/** Registers the lease contract for one backend. */
export function leaseContract(name: string, open: () => Promise<Opened<PartitionStore>>): void {
  describe(`leases and fencing [${name}]`, () => {
    let opened: Opened<PartitionStore>;
    let store: PartitionStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    it('the first leader gets epoch 1; a live lease is not taken; an expired one is taken at the next epoch', async () => {
      expect(await store.acquireLease(P, 'a', 10_000, TTL)).toEqual({ partition: P, leader: 'a', epoch: 1, expiresAt: 11_000 });
      expect(await store.acquireLease(P, 'b', 10_999, TTL)).toBeUndefined();
      expect(await store.acquireLease(P, 'b', 11_000, TTL)).toEqual({ partition: P, leader: 'b', epoch: 2, expiresAt: 12_000 });
      expect(await store.acquireLease(P, 'a', 11_500, TTL)).toBeUndefined();
      expect(await store.acquireLease(R, 'a', 11_500, TTL)).toMatchObject({ partition: R, leader: 'a', epoch: 1 });
      expect(await store.listLeases()).toEqual([
        { partition: P, leader: 'b', epoch: 2, expiresAt: 12_000 },
        { partition: R, leader: 'a', epoch: 1, expiresAt: 12_500 },
      ]);
    });

    it('a renewal extends the lease only for its holder at its epoch; a deposed leader cannot renew', async () => {
      await store.acquireLease(P, 'a', 0, TTL);
      expect(await store.renewLease(P, 'a', 1, 900, TTL)).toBe(true);
      expect(await store.acquireLease(P, 'b', 1_500, TTL)).toBeUndefined();
      expect(await store.renewLease(P, 'b', 1, 1_500, TTL)).toBe(false);
      expect(await store.renewLease(P, 'a', 2, 1_500, TTL)).toBe(false);
      expect(await store.acquireLease(P, 'b', 1_900, TTL)).toMatchObject({ leader: 'b', epoch: 2 });
      expect(await store.renewLease(P, 'a', 1, 2_000, TTL)).toBe(false);
      expect(await store.listLeases()).toEqual([{ partition: P, leader: 'b', epoch: 2, expiresAt: 2_900 }]);
      expect(await store.renewLease(R, 'a', 1, 0, TTL)).toBe(false);
    });

    it('a released lease is taken over at once; a release under a stale epoch changes nothing', async () => {
      await store.acquireLease(P, 'a', 0, TTL);
      await store.releaseLease(P, 'a', 1);
      expect(await store.acquireLease(P, 'b', 1, TTL)).toMatchObject({ leader: 'b', epoch: 2 });
      await store.releaseLease(P, 'a', 1);
      expect(await store.acquireLease(P, 'c', 2, TTL)).toBeUndefined();
    });

    it("taking one's own live lease again moves to the next epoch, fencing an earlier incarnation", async () => {
      await store.acquireLease(P, 'a', 0, TTL);
      expect(await store.acquireLease(P, 'a', 10, TTL)).toMatchObject({ leader: 'a', epoch: 2 });
      expect(await store.renewLease(P, 'a', 1, 20, TTL)).toBe(false);
    });

    it('of several leaders racing for one partition, exactly one wins', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.acquireLease(P, `n${i}`, 0, TTL)));
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]?.epoch).toBe(1);
      expect(await store.listLeases()).toEqual([winners[0]]);
    });

    it('a takeover does not complete while a transaction that locked the epoch is open', async () => {
      await store.acquireLease(P, 'a', 0, TTL);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockedNow = new Promise<void>((resolve) => (locked = resolve));
      const batch = store.transaction(async (tx) => {
        const epoch = await tx.lockEpoch(P);
        locked();
        await gate;
        await tx.putDedup(P, 'batch', 1);
        return epoch;
      });
      await lockedNow;
      let takenOver = false;
      const takeover = store.acquireLease(P, 'b', 5_000, TTL).then((lease) => {
        takenOver = true;
        return lease;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const waited = !takenOver;
      release();
      expect(waited).toBe(true);
      expect(await batch).toBe(1);
      expect(await takeover).toMatchObject({ leader: 'b', epoch: 2 });
      expect(await store.transaction((tx) => tx.lockEpoch(P))).toBe(2);
      expect(await store.transaction((tx) => tx.lockEpoch(R))).toBeUndefined();
    });

    it('a worker whose lease was taken over commits nothing: its commands fail with NotLeaderError', async () => {
      const a = await store.acquireLease(P, 'a', 0, TTL);
      const r = await store.acquireLease(R, 'a', 0, 1_000_000);
      const held = new Map([
        [P, a!.epoch],
        [R, r!.epoch],
      ]);
      const leadership: Leadership = { epochOf: (p) => held.get(p) };
      const worker = new Worker(store, new Partitioner(8), () => undefined, createLogger('silent'), leadership);
      const command: Command = { kind: 'outbox-delivered', upTo: 0 };
      try {
        await worker.submit(P, command);
        expect((await store.readLog(P, 0)).map((rec) => rec.lsn)).toEqual([1]);

        // Another node takes P over once the lease lapsed; this worker still believes it leads.
        expect(await store.acquireLease(P, 'b', 2_000, TTL)).toMatchObject({ epoch: 2 });
        const stale = worker.submit(P, command);
        const other = worker.submit(R, command);
        const unled = worker.submit(7, command);
        await expect(stale).rejects.toBeInstanceOf(NotLeaderError);
        await expect(stale).rejects.toMatchObject({ partition: P, believed: 1, current: 2, status: 503 });
        await expect(unled).rejects.toBeInstanceOf(NotLeaderError);
        // The partition it still leads, in the same batch, is not held back.
        await expect(other).resolves.toBeUndefined();

        expect((await store.readLog(P, 0)).map((rec) => rec.lsn)).toEqual([1]);
        expect((await store.getFsm(P)).appliedLsn).toBe(1);
        expect(await store.readLog(7, 0)).toEqual([]);
        expect((await store.readLog(R, 0)).map((rec) => rec.lsn)).toEqual([1]);
      } finally {
        await worker.close();
      }
    });

    it('live nodes are those whose heartbeat has not lapsed; a node that leaves is gone at once', async () => {
      await store.heartbeat('a', '127.0.0.1:8080', 's1', 10_000, TTL);
      await store.heartbeat('b', '', '', 10_500, TTL);
      expect(await store.listNodes(10_900)).toEqual([
        { name: 'a', address: '127.0.0.1:8080', secret: 's1', expiresAt: 11_000 },
        { name: 'b', address: '', secret: '', expiresAt: 11_500 },
      ]);
      expect((await store.listNodes(11_000)).map((n) => n.name)).toEqual(['b']);
      await store.heartbeat('a', '127.0.0.1:8081', 's2', 11_200, TTL);
      await store.leaveCluster('b');
      expect(await store.listNodes(11_300)).toEqual([{ name: 'a', address: '127.0.0.1:8081', secret: 's2', expiresAt: 12_200 }]);
    });
  });
}
