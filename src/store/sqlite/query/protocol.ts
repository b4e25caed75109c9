// Messages between the query engine (main thread) and its worker thread.

import type { QueryAttempt, QueryColumn, QueryErrorKind, QueryValue } from '../../query.ts';

/** What the worker needs to open its connection. */
export interface WorkerData {
  readonly path: string;
}

/** A query to run. */
export interface QueryRequest {
  readonly id: number;
  readonly sql: string;
  readonly timeoutMs: number;
  readonly maxRows: number;
  /** The invoker's attempts as they stand when the query starts. */
  readonly attempts: readonly QueryAttempt[];
}

/** The worker's answer to a QueryRequest. */
export type QueryReply =
  | { readonly id: number; readonly ok: true; readonly columns: QueryColumn[]; readonly rows: QueryValue[][] }
  | { readonly id: number; readonly ok: false; readonly kind: QueryErrorKind; readonly message: string };
