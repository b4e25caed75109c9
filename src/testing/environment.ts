import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEndure, type EmbeddedEndure, type Ingress, type ServiceDefinitions } from '../embedded/index.ts';
import type { LogLevel } from '../config/index.ts';
import { stateVersion } from '../types/index.ts';

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
  /**
   * Sets one entry, keeping the others: the key's state is read and written back, guarded by
   * its version, so a change made in between is never overwritten (the write is retried on it).
   */
  set<T>(name: string, value: T, serde?: StateSerde<T>): Promise<void>;
  /** Replaces the whole state of the key with `values`. */
  setAll<T>(values: Record<string, T>, serde?: StateSerde<T>): Promise<void>;
}

/** How often `set` reads and writes again when the state changed between its read and its write. */
const SET_ATTEMPTS = 10;

/** A key's state as read through the admin API, with the version that guards a write of it. */
interface StateSnapshot {
  readonly entries: Map<string, Uint8Array>;
  readonly version: string;
}

/**
 * A throw-away Endure for tests, without Docker: the shape of
 * `@restatedev/restate-sdk-testcontainers`' RestateTestEnvironment, running in the test's own
 * process on a temporary data directory, with the services in-process and the ingress and admin
 * API on free loopback ports. Works from any test runner (Vitest, Jest, node:test).
 *
 * State is read and written through the admin API only, as an operator (or Restate's own test
 * environment) does: SQL over the `state` table, and the state mutation command, which goes
 * through the key's log and is refused while an invocation holds the key.
 */
export class EndureTestEnvironment {
  private constructor(
    private readonly endure: EmbeddedEndure,
    private readonly dir: string,
  ) {}

  /** Starts Endure with `services` on a fresh temporary directory. */
  static async start(options: TestEnvironmentOptions): Promise<EndureTestEnvironment> {
    const dir = await mkdtemp(join(tmpdir(), 'endure-test-'));
    try {
      const endure = await startEndure({
        dataDir: dir,
        services: options.services,
        partitions: options.partitions ?? 4,
        logLevel: options.logLevel ?? 'warn',
      });
      return new EndureTestEnvironment(endure, dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Base URL of the ingress (for fetch or `@restatedev/restate-sdk-clients`' `connect({ url })`). */
  baseUrl(): string {
    // The test environment always listens (startEndure's defaults).
    return this.endure.ingressUrl!;
  }

  /** Base URL of the admin API. */
  adminAPIBaseUrl(): string {
    return this.endure.adminUrl!;
  }

  /** Typed calls to the services under test, served in-process (see `EmbeddedEndure.client`). */
  get client(): Ingress {
    return this.endure.client;
  }

  /** The state of `key` of a virtual object or workflow, given by name or by its definition. */
  stateOf(service: string | { readonly name: string }, key: string): StateProxy {
    const name = typeof service === 'string' ? service : service.name;
    const serdeOf = <T>(serde?: StateSerde<T>) => (serde ?? jsonSerde) as StateSerde<T>;
    return {
      get: async <T>(entry: string, serde?: StateSerde<T>) => {
        const bytes = (await this.#readState(name, key)).entries.get(entry);
        return bytes === undefined ? null : serdeOf(serde).deserialize(bytes);
      },
      getAll: async <T>(serde?: StateSerde<T>) => {
        const out: Record<string, T> = {};
        for (const [k, v] of (await this.#readState(name, key)).entries) out[k] = serdeOf(serde).deserialize(v);
        return out;
      },
      set: async <T>(entry: string, value: T, serde?: StateSerde<T>) => {
        const bytes = serdeOf(serde).serialize(value);
        for (let attempt = 1; ; attempt++) {
          const { entries, version } = await this.#readState(name, key);
          entries.set(entry, bytes);
          const refusal = await this.#mutateState(name, key, entries, version);
          if (refusal === undefined) return;
          // Retried only when the state changed since it was read; a key held by an invocation
          // (same version) or a last attempt is the caller's to see.
          if (attempt >= SET_ATTEMPTS || refusal.status !== 409 || (await this.#readState(name, key)).version === version) {
            throw new Error(`setting the state of ${name}/${key} failed: ${refusal.status} ${refusal.message}`);
          }
        }
      },
      setAll: async <T>(values: Record<string, T>, serde?: StateSerde<T>) => {
        const s = serdeOf(serde);
        const refusal = await this.#mutateState(name, key, new Map(Object.entries(values).map(([k, v]) => [k, s.serialize(v)])));
        if (refusal !== undefined) throw new Error(`setting the state of ${name}/${key} failed: ${refusal.status} ${refusal.message}`);
      },
    };
  }

  /** Reads a key's committed state through the admin API's SQL (`state` table, values in hex). */
  async #readState(service: string, key: string): Promise<StateSnapshot> {
    const literal = (v: string) => `'${v.replaceAll("'", "''")}'`;
    const res = await fetch(`${this.endure.adminUrl}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        query: `SELECT key, value FROM state WHERE service_name = ${literal(service)} AND service_key = ${literal(key)}`,
      }),
    });
    if (!res.ok) throw new Error(`reading the state of ${service}/${key} failed: ${res.status} ${await res.text()}`);
    const { rows } = (await res.json()) as { rows: { key: string; value?: string }[] };
    const entries = new Map(rows.map((r) => [r.key, new Uint8Array(Buffer.from(r.value ?? '', 'hex'))]));
    const encoder = new TextEncoder();
    return { entries, version: stateVersion([...entries].map(([k, v]) => [encoder.encode(k), v] as const)) };
  }

  /**
   * Replaces a key's whole state through the admin API's state mutation (a command on the key's
   * log), applied only if the state still has `version` when one is given. Undefined once
   * applied; otherwise the refusal.
   */
  async #mutateState(
    service: string,
    key: string,
    entries: Map<string, Uint8Array>,
    version?: string,
  ): Promise<{ status: number; message: string } | undefined> {
    const newState: Record<string, number[]> = {};
    for (const [k, v] of entries) newState[k] = [...v];
    const res = await fetch(`${this.endure.adminUrl}/services/${encodeURIComponent(service)}/state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ object_key: key, new_state: newState, ...(version !== undefined ? { version } : {}) }),
    });
    if (res.ok) return undefined;
    return { status: res.status, message: await res.text() };
  }

  /** Stops Endure and removes its temporary directory. */
  async stop(): Promise<void> {
    await this.endure.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
