import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded, type EmbeddedEndure, type ServiceDefinitions } from '../embedded/index.ts';
import type { LogLevel } from '../config/index.ts';
import type { EndureNode } from '../node/index.ts';

/** Options of {@link EndureTestEnvironment.start}. */
export interface TestEnvironmentOptions {
  /** The services under test, served in-process. */
  readonly services: ServiceDefinitions;
  /** Partitions of the throw-away store; default 4 (fewer is faster to create). */
  readonly partitions?: number;
  /** Endure's own log level; default `warn`. */
  readonly logLevel?: LogLevel;
}

/** How state values are turned into bytes and back; JSON by default, as the SDK's default serde. */
export interface StateSerde<T> {
  serialize(value: T): Uint8Array;
  deserialize(bytes: Uint8Array): T;
}

const jsonSerde: StateSerde<unknown> = {
  serialize: (value) => new TextEncoder().encode(JSON.stringify(value)),
  deserialize: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
};

/** The state of one virtual object or workflow key, read and written from a test. */
export interface StateProxy {
  /** One entry, or null when absent. */
  get<T>(name: string, serde?: StateSerde<T>): Promise<T | null>;
  /** Every entry. */
  getAll<T>(serde?: StateSerde<T>): Promise<Record<string, T>>;
  /** Sets one entry, keeping the others. */
  set<T>(name: string, value: T, serde?: StateSerde<T>): Promise<void>;
  /** Replaces the whole state of the key with `values`. */
  setAll<T>(values: Record<string, T>, serde?: StateSerde<T>): Promise<void>;
}

/**
 * A throw-away Endure for tests, without Docker: the shape of
 * `@restatedev/restate-sdk-testcontainers`' RestateTestEnvironment, running in the test's own
 * process on a temporary data directory, with the services in-process and the ingress and admin
 * API on free loopback ports. Works from any test runner (Vitest, Jest, node:test).
 */
export class EndureTestEnvironment {
  private constructor(
    private readonly endure: EmbeddedEndure,
    private readonly node: EndureNode,
    private readonly dir: string,
  ) {}

  /** Starts Endure with `services` on a fresh temporary directory. */
  static async start(options: TestEnvironmentOptions): Promise<EndureTestEnvironment> {
    const dir = await mkdtemp(join(tmpdir(), 'endure-test-'));
    try {
      const { endure, node } = await startEmbedded({
        dataDir: dir,
        services: options.services,
        partitions: options.partitions ?? 4,
        logLevel: options.logLevel ?? 'warn',
      });
      return new EndureTestEnvironment(endure, node, dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Base URL of the ingress (for fetch or `@restatedev/restate-sdk-clients`' `connect({ url })`). */
  baseUrl(): string {
    return this.endure.ingressUrl;
  }

  /** Base URL of the admin API. */
  adminAPIBaseUrl(): string {
    return this.endure.adminUrl;
  }

  /** The state of `key` of a virtual object or workflow, given by name or by its definition. */
  stateOf(service: string | { readonly name: string }, key: string): StateProxy {
    const name = typeof service === 'string' ? service : service.name;
    const read = async (): Promise<Map<string, Uint8Array>> => {
      const entries = await this.node.readState(name, key);
      return new Map(entries.map(([k, v]) => [new TextDecoder().decode(k), v]));
    };
    const write = (entries: Map<string, Uint8Array>) => this.#patchState(name, key, entries);
    return {
      get: async <T>(entry: string, serde?: StateSerde<T>) => {
        const bytes = (await read()).get(entry);
        return bytes === undefined ? null : ((serde ?? jsonSerde) as StateSerde<T>).deserialize(bytes);
      },
      getAll: async <T>(serde?: StateSerde<T>) => {
        const out: Record<string, T> = {};
        for (const [k, v] of await read()) out[k] = ((serde ?? jsonSerde) as StateSerde<T>).deserialize(v);
        return out;
      },
      set: async <T>(entry: string, value: T, serde?: StateSerde<T>) => {
        const entries = await read();
        entries.set(entry, ((serde ?? jsonSerde) as StateSerde<T>).serialize(value));
        await write(entries);
      },
      setAll: async <T>(values: Record<string, T>, serde?: StateSerde<T>) => {
        const s = (serde ?? jsonSerde) as StateSerde<T>;
        await write(new Map(Object.entries(values).map(([k, v]) => [k, s.serialize(v)])));
      },
    };
  }

  /** Replaces a key's state through the admin API, as an operator would: a command on the key's log. */
  async #patchState(service: string, key: string, entries: Map<string, Uint8Array>): Promise<void> {
    const newState: Record<string, number[]> = {};
    for (const [k, v] of entries) newState[k] = [...v];
    const res = await fetch(`${this.endure.adminUrl}/services/${encodeURIComponent(service)}/state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ object_key: key, new_state: newState }),
    });
    if (!res.ok) throw new Error(`setting the state of ${service}/${key} failed: ${res.status} ${await res.text()}`);
  }

  /** Stops Endure and removes its temporary directory. */
  async stop(): Promise<void> {
    await this.endure.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
