import { afterEach, describe, expect, it } from 'vitest';
import { TimerService } from '../../src/timer/index.ts';

// The timer service on its own: what it fires and when, with a store stand-in that is a plain
// array of rows (the service only ever reads windows of it).

let service: TimerService | undefined;
afterEach(() => service?.close());

function rowsStore(rows: { partition: number; key: string; fireAt: number }[]) {
  const reads: [number, number][] = [];
  return {
    reads,
    load: async (after: number, upTo: number) => {
      reads.push([after, upTo]);
      return rows.filter((r) => r.fireAt > after && r.fireAt <= upTo);
    },
  };
}

describe('timer service', () => {
  it('fires timers in due order, no earlier than their time', async () => {
    const fired: [string, number][] = [];
    const now = Date.now();
    const store = rowsStore([
      { partition: 0, key: 'b', fireAt: now + 60 },
      { partition: 1, key: 'a', fireAt: now + 20 },
    ]);
    service = new TimerService((_p, key, at) => fired.push([key, at]), store.load, 60_000);
    await service.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(fired.map(([k]) => k)).toEqual(['a', 'b']);
    expect(fired[0]![1]).toBeGreaterThanOrEqual(now + 20);
    expect(fired[1]![1]).toBeGreaterThanOrEqual(now + 60);
  });

  it('holds only the horizon in memory and reads later windows from the store', async () => {
    const fired: string[] = [];
    const now = Date.now();
    const store = rowsStore([{ partition: 0, key: 'later', fireAt: now + 150 }]);
    service = new TimerService((_p, key) => fired.push(key), store.load, 100);
    await service.start();
    expect(service.size).toBe(0);
    // Scheduled beyond the window: left to the store read that extends the window.
    service.schedule(0, 'later', now + 150);
    expect(service.size).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(fired).toEqual(['later']);
    expect(store.reads.length).toBeGreaterThanOrEqual(2);
  });

  it('fires a timer scheduled twice once', async () => {
    const fired: string[] = [];
    const now = Date.now();
    const store = rowsStore([{ partition: 0, key: 'x', fireAt: now + 20 }]);
    service = new TimerService((_p, key) => fired.push(key), store.load, 60_000);
    await service.start();
    service.schedule(0, 'x', now + 20);
    await new Promise((r) => setTimeout(r, 100));
    expect(fired).toEqual(['x']);
  });

  it('a window the store fails to load is read again at the next tick, and its timers fire', async () => {
    const fired: string[] = [];
    const now = Date.now();
    const store = rowsStore([{ partition: 0, key: 'in the failed window', fireAt: now + 130 }]);
    let loads = 0;
    const flaky = async (after: number, upTo: number) => {
      // The first extension after start finds the store unreachable.
      if (++loads === 2) throw new Error('store unreachable');
      return store.load(after, upTo);
    };
    service = new TimerService((_p, key) => fired.push(key), flaky, 100);
    await service.start();
    await new Promise((r) => setTimeout(r, 350));
    expect(loads).toBeGreaterThanOrEqual(3);
    expect(fired).toEqual(['in the failed window']);
  });
});
