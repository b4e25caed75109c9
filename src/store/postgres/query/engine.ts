import postgres from 'postgres';
import { toPostgres } from '../../query-dialect.ts';
import { DEFAULT_QUERY_LIMITS, QueryError, QueryErrorKind } from '../../query.ts';
import type { QueryAttempt, QueryColumn, QueryColumnType, QueryEngine, QueryLimits, QueryResult, QueryValue } from '../../query.ts';
import type { PgLocation } from '../db.ts';
import { ATTEMPTS_SETTING, setupStatements } from './views.ts';

/** Queries waiting for the connection beyond this many are refused. */
const MAX_WAITING = 32;
/** Rows fetched from the server at a time. */
const BATCH_ROWS = 500;
/** Seconds the connection may sit unused before it is closed (the next query opens another). */
const IDLE_SECONDS = 60;

// PostgreSQL type oids the answers type differently from text.
const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701,
  numeric: 1700,
} as const;

/**
 * Introspection queries on a PostgreSQL store, on a connection of their own, one at a time.
 *
 * Each query runs in a READ ONLY transaction (nothing it says can write the store) under a
 * `statement_timeout`, so the server itself stops a query past its time limit, and reads its
 * rows through a cursor, so a result past the row limit is refused before it is all fetched.
 * The connection is not the store's pool: a slow query holds no connection the partitions'
 * batches need, and no lock they wait on. Every node of a cluster reads the same tables, so any
 * node's `/query` sees every partition.
 *
 * States: no connection, or one whose session lacks the views → set up (the views and their
 * functions created in its temporary schema) → queries. A closed connection goes back to the
 * first state; the client opens a fresh one for the next query.
 */
export class PostgresQueryEngine implements QueryEngine {
  readonly #sql: postgres.Sql;
  readonly #schema: string;
  readonly #limits: QueryLimits;
  readonly #attempts: () => readonly QueryAttempt[];
  /** Whether the live connection's session has the views. */
  #ready = false;
  #chain: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #closed = false;

  /** `attempts` reports the invoker's attempts in flight (none when absent). */
  constructor(location: PgLocation, limits: QueryLimits = DEFAULT_QUERY_LIMITS, attempts: () => readonly QueryAttempt[] = () => []) {
    this.#schema = location.schema;
    this.#limits = limits;
    this.#attempts = attempts;
    this.#sql = postgres(location.url, {
      max: 1,
      // User queries are one-off texts: unnamed statements, none kept on the connection.
      prepare: false,
      idle_timeout: IDLE_SECONDS,
      connect_timeout: 10,
      onnotice: () => undefined,
      onclose: () => {
        this.#ready = false;
      },
      connection: {
        application_name: 'endure-query',
        // Unqualified names find the views (and PostgreSQL's built-ins) only: neither the store's
        // tables nor whatever else shares the database.
        search_path: 'pg_temp',
      },
    });
  }

  query(sql: string): Promise<QueryResult> {
    if (this.#closed) return Promise.reject(new QueryError(QueryErrorKind.Unavailable, 'the query engine is closed'));
    if (this.#waiting >= MAX_WAITING) {
      return Promise.reject(new QueryError(QueryErrorKind.Unavailable, 'too many queries waiting; try again later'));
    }
    this.#waiting++;
    const run = this.#chain.then(() => this.#run(sql));
    this.#chain = run.catch(() => undefined);
    return run.finally(() => this.#waiting--);
  }

  async #run(text: string): Promise<QueryResult> {
    if (this.#closed) throw new QueryError(QueryErrorKind.Unavailable, 'the query engine is closed');
    const sql = toPostgres(text, [this.#schema]);
    const { timeoutMs, maxRows } = this.#limits;
    const attempts = JSON.stringify(Object.fromEntries(this.#attempts().map((a) => [a.id, a])));
    try {
      await this.#setUp();
      const deadline = Date.now() + timeoutMs;
      return await this.#sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx) => {
        await tx`SELECT set_config('statement_timeout', ${String(timeoutMs)}, true), set_config(${ATTEMPTS_SETTING}, ${attempts}, true)`;
        const described = await tx.unsafe(sql).describe();
        const oids = described.columns.map((col) => col.type);
        const raw: unknown[][] = [];
        await tx
          .unsafe(sql)
          .values()
          .cursor(Math.min(BATCH_ROWS, maxRows + 1), (batch: unknown[][]) => {
            // statement_timeout runs per fetch of a cursor; the whole query gets the limit too.
            if (Date.now() > deadline) throw new QueryError(QueryErrorKind.Timeout, timeoutMessage(timeoutMs));
            for (const row of batch) raw.push(row);
            if (raw.length > maxRows) throw new QueryError(QueryErrorKind.TooManyRows, `the result has more than ${maxRows} rows; add a LIMIT`);
          });
        return toResult(described.columns.map((col) => col.name), oids, raw);
      });
    } catch (err) {
      throw asQueryError(err, timeoutMs);
    }
  }

  /** Creates the views on a connection that does not have them yet. */
  async #setUp(): Promise<void> {
    if (this.#ready) return;
    // Temporary objects of a session that ended are gone; those of this session are replaced.
    await this.#sql.unsafe(`DISCARD TEMP; ${setupStatements(this.#schema)}`).simple();
    this.#ready = true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain;
    await this.#sql.end({ timeout: 1 });
  }
}

const timeoutMessage = (ms: number) => `the query ran longer than ${ms} ms and was interrupted`;

/** A failure as the answer to `/query` describes it. */
function asQueryError(err: unknown, timeoutMs: number): QueryError {
  if (err instanceof QueryError) return err;
  if (err instanceof postgres.PostgresError) {
    if (err.code === '57014') return new QueryError(QueryErrorKind.Timeout, timeoutMessage(timeoutMs), { cause: err });
    if (err.code === '25006') return new QueryError(QueryErrorKind.Invalid, `only queries that read are allowed: ${err.message}`, { cause: err });
    // Connection, resource and server-state classes: the store, not the query, is at fault.
    if (/^(08|53|57|58|XX)/.test(err.code)) return new QueryError(QueryErrorKind.Unavailable, `PostgreSQL: ${err.message}`, { cause: err });
    return new QueryError(QueryErrorKind.Invalid, err.message, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new QueryError(QueryErrorKind.Unavailable, `PostgreSQL: ${message}`, { cause: err });
}

/** The rows as the answers have them, with each column's type from its PostgreSQL type. */
function toResult(names: readonly string[], oids: readonly number[], raw: unknown[][]): QueryResult {
  const columns: QueryColumn[] = names.map((name, k) => ({ name, type: columnType(oids[k] ?? 0, raw, k) }));
  const rows = raw.map((row) => row.map((v, k) => value(v, columns[k]!.type)));
  return { columns, rows };
}

function columnType(oid: number, raw: unknown[][], k: number): QueryColumnType {
  switch (oid) {
    case OID.bool:
      return 'Boolean';
    case OID.bytea:
      return 'Binary';
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      return 'Int64';
    case OID.float4:
    case OID.float8:
      return 'Float64';
    case OID.numeric:
      // sum() of integers is numeric in PostgreSQL: whole numbers stay integers, as on SQLite.
      return raw.every((row) => row[k] === null || /^-?\d+$/.test(String(row[k]))) ? 'Int64' : 'Float64';
    default:
      return 'Utf8';
  }
}

function value(v: unknown, type: QueryColumnType): QueryValue {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'Int64': {
      if (typeof v === 'number') return v;
      const big = BigInt(String(v));
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    case 'Float64':
      return Number(v);
    case 'Boolean':
      return Boolean(v);
    case 'Binary':
      return new Uint8Array(v as Uint8Array);
    case 'Utf8':
      if (typeof v === 'string') return v;
      // Times as RFC 3339 text, as on SQLite and in Restate's answers.
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}
