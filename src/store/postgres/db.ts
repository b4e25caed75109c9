import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

/** A pool of connections to Endure's schema, as the `postgres` client exposes it. */
export type PgSql = postgres.Sql<Record<string, never>>;

/** Where Endure's PostgreSQL store lives. */
export interface PgLocation {
  /** A `postgres://` or `postgresql://` connection URL. */
  readonly url: string;
  /** The schema that holds Endure's tables (created if missing). */
  readonly schema: string;
  /**
   * How long a transaction may sit idle before the server ends it (default 10 s). A cluster node
   * sets its lease duration: a leader frozen inside a batch then holds the lease rows it locked
   * no longer than its lease, so the takeover is not held up past it.
   */
  readonly idleInTransactionMs?: number;
}

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * How long the server lets one of Endure's transactions sit idle before ending its session. A
 * batch never waits on anything but its own statements, so only a frozen or cut-off process
 * reaches it; the server then rolls back its transaction and frees the lease rows it locked, so
 * a frozen leader cannot block a takeover for longer than this. A URL parameter of the same
 * name overrides it.
 */
const IDLE_IN_TRANSACTION_MS = 10_000;

/** Schema names Endure accepts: a plain lower-case SQL identifier, so no quoting surprises. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Raised instead of sending a statement on a connection that has closed. */
export class ConnectionLostError extends Error {
  readonly code = 'ENDURE_STORE_CONNECTION_LOST';
  /** The store may be reachable again by the next attempt. */
  readonly retryable = true;
  constructor() {
    super('the connection to PostgreSQL was lost');
    this.name = 'ConnectionLostError';
  }
}

/**
 * The connection pool of a store, replaced whole as soon as one of its connections closes.
 *
 * The `postgres` client (3.4.9) must never be given a statement for a connection whose socket
 * has closed: a reserved connection then throws from a timer, outside any promise, and takes
 * the process down, and a pooled one can be left unable to send again (porsager/postgres
 * issue 1208). So the first close of any connection retires the
 * whole pool (what was in flight on it fails, and is retried by its producers) and the next
 * statement opens a fresh one; `generation` tells a transaction whether its connection still
 * belongs to the live pool before it sends anything on it.
 */
export class PgPool {
  readonly #location: PgLocation;
  #sql: PgSql;
  #generation = 0;
  #ended = false;
  /** Rejects when the live pool is retired. */
  #lost!: Promise<never>;
  #loseLive!: () => void;

  constructor(location: PgLocation) {
    this.#location = location;
    this.#sql = this.#create();
  }

  /**
   * `work` (statements on a connection of pool `generation`), or ConnectionLostError as soon as
   * that pool is retired: a statement sent just before its socket closed may never be answered,
   * and must not hold its caller forever.
   */
  guard<T>(generation: number, work: Promise<T>): Promise<T> {
    if (generation !== this.#generation) {
      work.catch(() => undefined);
      return Promise.reject(new ConnectionLostError());
    }
    return Promise.race([work, this.#lost]);
  }

  /** The live pool. */
  get sql(): PgSql {
    return this.#sql;
  }

  /** Grows each time the pool is replaced. */
  get generation(): number {
    return this.#generation;
  }

  /** Closes the live pool, letting statements in flight finish for up to `timeoutSeconds`. */
  async end(timeoutSeconds: number): Promise<void> {
    this.#ended = true;
    await this.#sql.end({ timeout: timeoutSeconds });
  }

  #create(): PgSql {
    const generation = this.#generation;
    this.#lost = new Promise<never>((_, reject) => (this.#loseLive = () => reject(new ConnectionLostError())));
    this.#lost.catch(() => undefined);
    return postgres(this.#location.url, {
      connection: {
        search_path: this.#location.schema,
        application_name: 'endure',
        idle_in_transaction_session_timeout: this.#location.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS,
      },
      types: {
        int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
      },
      onnotice: () => undefined,
      onclose: () => this.#retire(generation),
      connect_timeout: 10,
      // Connections are not recycled on a timer: every close retires the pool.
      max_lifetime: null,
    }) as unknown as PgSql;
  }

  /**
   * Retires the pool of `generation` if it is still the live one: for a connection left in an
   * unknown state (a ROLLBACK that failed), which must not serve anyone else.
   */
  discard(generation: number): void {
    this.#retire(generation);
  }

  #retire(generation: number): void {
    if (this.#ended || generation !== this.#generation) return;
    const old = this.#sql;
    const lose = this.#loseLive;
    this.#generation++;
    this.#sql = this.#create();
    lose();
    old.end({ timeout: 0 }).catch(() => undefined);
  }
}

/**
 * Opens a connection pool on Endure's schema and brings the schema up to date. Every
 * connection runs with `search_path` set to the schema, so statements name tables unqualified
 * and Endure can share a database with the user's tables. 64-bit integers read as numbers:
 * LSNs, sequences and times stay far below 2^53.
 */
export async function openPostgres(location: PgLocation): Promise<PgPool> {
  ignoreDestroyedConnectionRejections();
  if (!SCHEMA_NAME.test(location.schema)) throw new Error(`invalid schema name ${JSON.stringify(location.schema)}`);
  const pool = new PgPool(location);
  try {
    await migrate(pool.sql, location.schema);
  } catch (err) {
    await pool.end(1);
    throw err;
  }
  return pool;
}

/**
 * Applies the numbered migrations not yet recorded, each in its own transaction. An advisory
 * lock keyed by the schema lets several nodes start at once: one migrates, the others wait
 * and then find nothing left to do.
 */
async function migrate(sql: PgSql, schema: string): Promise<void> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`endure migrate ${schema}`}))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx`CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL)`;
    const applied = new Set((await tx<{ version: number }[]>`SELECT version FROM schema_migration`).map((r) => r.version));
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      if (applied.has(version)) continue;
      await tx.unsafe(readFileSync(join(MIGRATIONS_DIR, file), 'utf8')).simple();
      await tx`INSERT INTO schema_migration (version, name) VALUES (${version}, ${file})`;
    }
  });
}

/** Codes of the `postgres` client's errors for a connection this process closed itself. */
const OWN_CLOSE_CODES = new Set(['CONNECTION_DESTROYED', 'CONNECTION_ENDED']);
let ignoringDestroyed = false;

/**
 * Keeps the process alive through a rejection the `postgres` client (3.4.9) leaves unhandled:
 * when a retired pool is ended while a connection of it is still opening or fetching its types
 * (the database went away, or a connection closed under a loaded machine), the client rejects
 * an internal promise of its own with CONNECTION_DESTROYED from a timer, which nobody can
 * await. Whatever that connection carried already failed through the pool's `guard` and is
 * retried by its producer; a node must not exit for it (it answers 503 and recovers once the
 * database is back). Every other unhandled rejection still ends the process, as Node would,
 * unless the process has listeners of its own (an application embedding Endure): then they decide.
 */
function ignoreDestroyedConnectionRejections(): void {
  if (ignoringDestroyed) return;
  ignoringDestroyed = true;
  process.on('unhandledRejection', (reason) => {
    const code = (reason as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && OWN_CLOSE_CODES.has(code)) return;
    // An embedding application with a listener of its own decides about everything else.
    if (process.listenerCount('unhandledRejection') > 1) return;
    throw reason;
  });
}
