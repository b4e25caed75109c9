/**
 * SQL introspection over the store: Restate's tables (`sys_invocation`, `sys_journal`, `state`,
 * …) as views of the store's own tables, for `POST /query`. A query only reads; it runs off the
 * event loop that applies commands, bounded in time and in rows.
 */

/** The type of a result column, as the Arrow answer declares it. */
export type QueryColumnType = 'Int64' | 'Float64' | 'Utf8' | 'Binary' | 'Boolean';

/** One column of a result. */
export interface QueryColumn {
  readonly name: string;
  readonly type: QueryColumnType;
}

/** A value of a result row (Binary as bytes, Boolean as boolean). */
export type QueryValue = null | number | bigint | string | boolean | Uint8Array;

/** The answer to a query. */
export interface QueryResult {
  readonly columns: readonly QueryColumn[];
  readonly rows: readonly (readonly QueryValue[])[];
}

/** Why a query was refused or stopped. */
export const QueryErrorKind = {
  /** The SQL is not a read, or the database rejected it (syntax, unknown table…). */
  Invalid: 'invalid',
  /** It ran longer than the time limit and was interrupted. */
  Timeout: 'timeout',
  /** Its result has more rows than the limit. */
  TooManyRows: 'too-many-rows',
  /** The query engine could not run it (worker failure, closed). */
  Unavailable: 'unavailable',
  /** This store has no SQL introspection (yet). */
  Unsupported: 'unsupported',
} as const;
/** A query error kind. */
export type QueryErrorKind = (typeof QueryErrorKind)[keyof typeof QueryErrorKind];

/** A query that could not be answered; `kind` says whose fault it is. */
export class QueryError extends Error {
  constructor(
    readonly kind: QueryErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueryError';
  }
}

/** Limits of one query. */
export interface QueryLimits {
  /** Longest a query may run, in ms. */
  readonly timeoutMs: number;
  /** Most rows a result may have. */
  readonly maxRows: number;
}

/** Default limits: enough for every query Restate's CLI and UI send. */
export const DEFAULT_QUERY_LIMITS: QueryLimits = { timeoutMs: 10_000, maxRows: 100_000 };

/**
 * What the invoker knows of an invocation it is running or retrying: kept in its memory, not
 * in the store, and handed to each query as it stands when the query starts.
 */
export interface QueryAttempt {
  readonly id: string;
  readonly status: 'running' | 'backing-off';
  readonly retryCount: number;
  readonly lastStartAt: number | undefined;
  readonly lastFailure: string | undefined;
  readonly lastFailureCode: number | undefined;
  readonly nextRetryAt: number | undefined;
}

/** Runs read-only introspection queries. */
export interface QueryEngine {
  query(sql: string): Promise<QueryResult>;
  close(): Promise<void>;
}
