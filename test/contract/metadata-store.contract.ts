// The metadata store contract: what every backend of `MetadataStore` must do. A backend's test
// file calls `metadataStoreContract` with a factory that returns a fresh, empty store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeploymentRecord, JsonValue, MetadataSnapshot, MetadataStore, ServiceRecord } from '../../src/store/metadata.ts';
import type { Opened } from './fixtures.ts';

/** Registers the metadata store contract for one backend. */
export function metadataStoreContract(name: string, open: () => Promise<Opened<MetadataStore>>): void {
  describe(`MetadataStore contract [${name}]`, () => {
    let opened: Opened<MetadataStore>;
    let store: MetadataStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    /** The snapshot with both lists sorted, since the interface does not promise an order. */
    const load = async (): Promise<MetadataSnapshot> => {
      const snap = await store.load();
      return {
        deployments: [...snap.deployments].sort((a, b) => a.id.localeCompare(b.id)),
        services: [...snap.services].sort((a, b) => a.name.localeCompare(b.name)),
      };
    };

    it('an empty store loads an empty snapshot', async () => {
      expect(await store.load()).toEqual({ deployments: [], services: [] });
    });

    it('saveDeployment stores the deployment and the services it makes active', async () => {
      const d = deployment('dp_1');
      await store.saveDeployment(d, [service('Greeter', 1, 'dp_1'), service('Counter', 1, 'dp_1')]);
      expect(await load()).toEqual({ deployments: [d], services: [service('Counter', 1, 'dp_1'), service('Greeter', 1, 'dp_1')] });
    });

    it('JSON documents round-trip exactly: nesting, null, booleans, numbers, unicode, empty values', async () => {
      const data: JsonValue = {
        nested: { list: [1, 'two', null, true, false, { deep: [[]] }], empty: {} },
        numbers: [0, -1, 1.5, -2.25e-7, 9_007_199_254_740_991, 1e300],
        text: ['', 'é ✓ 中文 🙂', 'line\nbreak "quoted" \\ back', '\u0000nul'],
        nothing: null,
      };
      const d = deployment('dp_json', { data });
      const s = service('Json', 3, 'dp_json', { data: [data, 'x', 1, null] });
      await store.saveDeployment(d, [s]);
      const snap = await load();
      expect(snap.deployments).toEqual([d]);
      expect(snap.services).toEqual([s]);
      expect(await store.saveDeployment(deployment('dp_scalar', { data: 'just a string' }), [])).toBeUndefined();
      expect((await load()).deployments.find((x) => x.id === 'dp_scalar')?.data).toBe('just a string');
    });

    it('saving a deployment or service again replaces it rather than duplicating it', async () => {
      await store.saveDeployment(deployment('dp_1'), [service('Greeter', 1, 'dp_1')]);
      const updated = deployment('dp_1', { url: 'http://127.0.0.1:9999/', data: { v: 2 } });
      await store.saveDeployment(updated, []);
      await store.saveDeployment(deployment('dp_2'), [service('Greeter', 2, 'dp_2')]);
      expect(await load()).toEqual({
        deployments: [updated, deployment('dp_2')],
        services: [service('Greeter', 2, 'dp_2')],
      });
    });

    it('removeDeployment removes it, re-points the services listed to put and removes those listed to remove', async () => {
      await store.saveDeployment(deployment('dp_1'), [service('A', 1, 'dp_1'), service('B', 1, 'dp_1')]);
      await store.saveDeployment(deployment('dp_2'), [service('C', 1, 'dp_2')]);
      await store.removeDeployment('dp_1', { put: [service('A', 2, 'dp_2')], remove: ['B'] });
      expect(await load()).toEqual({
        deployments: [deployment('dp_2')],
        services: [service('A', 2, 'dp_2'), service('C', 1, 'dp_2')],
      });
      await store.removeDeployment('dp_unknown', { put: [], remove: ['unknown'] });
      expect((await load()).deployments.map((d) => d.id)).toEqual(['dp_2']);
    });

    it('commit applies every part of a change; an empty change changes nothing', async () => {
      await store.saveDeployment(deployment('dp_old'), [service('Old', 1, 'dp_old')]);
      await store.commit({
        putDeployments: [deployment('dp_a'), deployment('dp_b')],
        removeDeployments: ['dp_old'],
        putServices: [service('X', 1, 'dp_a'), service('Y', 1, 'dp_b')],
        removeServices: ['Old'],
      });
      const expected = {
        deployments: [deployment('dp_a'), deployment('dp_b')],
        services: [service('X', 1, 'dp_a'), service('Y', 1, 'dp_b')],
      };
      expect(await load()).toEqual(expected);
      await store.commit({});
      expect(await load()).toEqual(expected);
    });

    it('a change that cannot be stored is rejected and none of it is applied', async () => {
      await store.saveDeployment(deployment('dp_keep'), [service('Keep', 1, 'dp_keep')]);
      const before = await load();
      // BigInt has no JSON form: the second record cannot be written, after the first was.
      const unstorable = deployment('dp_bad', { data: { n: 10n } as unknown as JsonValue });
      await expect(
        store.commit({
          removeDeployments: ['dp_keep'],
          putDeployments: [deployment('dp_good'), unstorable],
          putServices: [service('New', 1, 'dp_good')],
          removeServices: ['Keep'],
        }),
      ).rejects.toBeDefined();
      expect(await load()).toEqual(before);
    });

    it('concurrent commits all land', async () => {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.saveDeployment(deployment(`dp_${i}`), [service(`Svc${i}`, 1, `dp_${i}`)])),
      );
      const snap = await load();
      expect(snap.deployments).toHaveLength(10);
      expect(snap.services).toHaveLength(10);
    });

    it('a loaded snapshot is a copy: changing it does not change the store', async () => {
      await store.saveDeployment(deployment('dp_1', { data: { v: 1 } }), [service('A', 1, 'dp_1')]);
      const snap = await store.load();
      const d = snap.deployments[0];
      if (d?.data && typeof d.data === 'object' && !Array.isArray(d.data)) d.data.v = 2;
      snap.services.pop();
      expect(await load()).toEqual({ deployments: [deployment('dp_1', { data: { v: 1 } })], services: [service('A', 1, 'dp_1')] });
    });
  });
}

function deployment(id: string, overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id,
    url: `http://127.0.0.1:9080/${id}`,
    createdAt: 1_700_000_000_000 + id.length,
    data: { id, protocol: [5, 6], headers: { 'x-a': 'b' } },
    ...overrides,
  };
}

function service(name: string, revision: number, deploymentId: string, overrides: Partial<ServiceRecord> = {}): ServiceRecord {
  return { name, revision, deploymentId, data: { name, revision, handlers: [{ name: 'h', ty: 'EXCLUSIVE' }] }, ...overrides };
}
