// The lease manager on a real (in-memory SQLite) lease table, with a clock the test moves: how
// nodes share the partitions, take over expired leases, hand them back, and stop acting the
// moment their lease can no longer be trusted.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseManager } from '../../src/cluster/index.ts';
import { openSqlite, SqlitePartitionStore } from '../../src/store/index.ts';

const P = 6;
const LEASE = 3000;
const logger = pino({ level: 'silent' });

describe('lease manager', () => {
  let now = 1_000_000;
  const clock = () => now;
  const stores: SqlitePartitionStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  function setup() {
    const store = new SqlitePartitionStore(openSqlite(':memory:'));
    stores.push(store);
    const events: string[] = [];
    const node = (name: string, onGained: (p: number, e: number) => Promise<void> = async () => undefined) =>
      new LeaseManager({
        store,
        nodeName: name,
        address: '',
        secret: '',
        partitions: P,
        leaseMs: LEASE,
        clock,
        logger,
        onGained: async (p, e) => {
          events.push(`${name} gained ${p}@${e}`);
          await onGained(p, e);
        },
        onLost: (p, e) => void events.push(`${name} lost ${p}@${e}`),
      });
    return { store, events, node };
  }

  it('a lone node leads every partition after its first tick, at epoch 1', async () => {
    const { node } = setup();
    const a = node('a');
    await a.tick();
    expect(a.leading()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.epochOf(3)).toBe(1);
  });

  it('a joining node gets its share: the leader hands the surplus back and the newcomer takes it', async () => {
    const { node } = setup();
    const a = node('a');
    const b = node('b');
    await a.tick();
    await b.tick(); // b heartbeats; every lease is live, so it takes nothing yet
    expect(b.leading()).toEqual([]);
    await a.tick(); // a sees two nodes and keeps ceil(6/2) = 3
    expect(a.leading()).toHaveLength(3);
    await b.tick();
    expect(b.leading()).toHaveLength(3);
    expect(new Set([...a.leading(), ...b.leading()]).size).toBe(P);
  });

  it('a node that stops renewing stops acting at once when its lease runs out, and another takes over at the next epoch', async () => {
    const { node, events } = setup();
    const a = node('a');
    const b = node('b');
    await a.tick();
    await b.tick();
    // a freezes: no tick, while the clock runs past its lease.
    now += LEASE;
    expect(a.epochOf(0)).toBeUndefined();
    await b.tick();
    await b.tick();
    expect(b.leading()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(b.epochOf(0)).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(events).toContain('a lost 0@1');
    // a thaws: its renewals are refused (the rows moved on); it leads nothing.
    await a.tick();
    expect(a.leading()).toEqual([]);
  });

  it('a renewal refused because the lease moved on steps the node down', async () => {
    const { node, store, events } = setup();
    const a = node('a');
    await a.tick();
    // Someone else took partition 2 (its lease had lapsed for them).
    expect(await store.acquireLease(2, 'b', now + LEASE, LEASE)).toMatchObject({ epoch: 2 });
    await a.tick();
    expect(a.epochOf(2)).toBeUndefined();
    expect(events).toContain('a lost 2@1');
  });

  it('a partition takes no commands while it recovers', async () => {
    const { node } = setup();
    let finish!: () => void;
    const recovered = new Promise<void>((r) => (finish = r));
    const a = node('a', (p) => (p === 0 ? recovered : Promise.resolve()));
    const first = a.tick();
    await new Promise((r) => setTimeout(r, 20));
    expect(a.epochOf(0)).toBeUndefined();
    finish();
    await first;
    expect(a.epochOf(0)).toBe(1);
  });

  it('stop hands every lease back, so another node takes them without waiting for them to lapse', async () => {
    const { node, events } = setup();
    const a = node('a');
    const b = node('b');
    await a.tick();
    await a.stop();
    expect(events.filter((e) => e.startsWith('a lost'))).toHaveLength(P);
    await b.tick();
    expect(b.leading()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(b.epochOf(0)).toBe(2);
  });
});
