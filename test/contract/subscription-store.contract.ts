// The subscription store contract: what every backend of `SubscriptionStore` must do. A backend's
// test file calls `subscriptionStoreContract` with a factory that returns a fresh, empty store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SubscriptionRecord, SubscriptionStore } from '../../src/store/index.ts';
import type { Opened } from './fixtures.ts';

/** Registers the subscription store contract for one backend. */
export function subscriptionStoreContract(name: string, open: () => Promise<Opened<SubscriptionStore>>): void {
  describe(`SubscriptionStore contract [${name}]`, () => {
    let opened: Opened<SubscriptionStore>;
    let store: SubscriptionStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    it('an empty store lists no subscription', async () => {
      expect(await store.listSubscriptions()).toEqual([]);
    });

    it('subscriptions read back exactly, options included, oldest first', async () => {
      const later = subscription('sub_b', 2_000, { batch_size: '16', key_header: 'clé' });
      const earlier = subscription('sub_a', 1_000, {});
      const same = subscription('sub_0', 2_000, { stream: 'ORDERS' });
      await store.putSubscription(later);
      await store.putSubscription(earlier);
      await store.putSubscription(same);
      expect(await store.listSubscriptions()).toEqual([earlier, same, later]);
    });

    it('a second subscription with an id already stored is refused and changes nothing', async () => {
      const first = subscription('sub_dup', 1_000, {});
      await store.putSubscription(first);
      await expect(store.putSubscription({ ...first, sink: 'service://Other/run' })).rejects.toThrow();
      expect(await store.listSubscriptions()).toEqual([first]);
    });

    it('removing a subscription says whether there was one', async () => {
      await store.putSubscription(subscription('sub_gone', 1_000, {}));
      await store.putSubscription(subscription('sub_kept', 1_001, {}));
      expect(await store.removeSubscription('sub_gone')).toBe(true);
      expect(await store.removeSubscription('sub_gone')).toBe(false);
      expect((await store.listSubscriptions()).map((s) => s.id)).toEqual(['sub_kept']);
    });
  });
}

function subscription(id: string, createdAt: number, options: Record<string, string>): SubscriptionRecord {
  return { id, source: 'nats://main/orders', sink: 'service://Counter/add', options, createdAt };
}
