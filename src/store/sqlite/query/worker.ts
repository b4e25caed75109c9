// The introspection worker thread: one read-only connection to the store's database, with
// Restate's tables as TEMP views and Endure's SQL functions, answering one query at a time.
// It runs beside the event loop that applies commands, so a slow query stalls nothing there.

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { QueryError, QueryErrorKind } from '../../query.ts';
import type { QueryColumn, QueryColumnType, QueryValue } from '../../query.ts';
import { toSqlite } from '../../query-dialect.ts';
import { queryTimedOut, registerFunctions, startQuery } from './functions.ts';
import type { QueryReply, QueryRequest, WorkerData } from './protocol.ts';
import { BOOLEAN_COLUMNS, COLUMN_TYPES, createViews } from './views.ts';

const { path } = workerData as WorkerData;
// Read-only: no statement on this connection can change the store, whatever the user sends.
const db = new Database(path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
registerFunctions(db);
createViews(db);

/** Runs one query; throws QueryError. */
export function run(req: QueryRequest): { columns: QueryColumn[]; rows: QueryValue[][] } {
  const sql = toSqlite(req.sql);
  let stmt: Database.Statement;
  try {
    stmt = db.prepare(sql);
  } catch (err) {
    throw new QueryError(QueryErrorKind.Invalid, err instanceof Error ? err.message : String(err), { cause: err });
  }
  if (!stmt.reader || !stmt.readonly) throw new QueryError(QueryErrorKind.Invalid, 'only queries that read are allowed');
  const names = stmt.columns().map((col) => col.name);
  const rows: QueryValue[][] = [];
  startQuery(req.timeoutMs, req.attempts);
  try {
    for (const raw of stmt.raw(true).safeIntegers(true).iterate() as Iterable<unknown[]>) {
      if (rows.length >= req.maxRows) {
        throw new QueryError(QueryErrorKind.TooManyRows, `the result has more than ${req.maxRows} rows; add a LIMIT`);
      }
      rows.push(raw.map(normalise));
    }
  } catch (err) {
    if (err instanceof QueryError) throw err;
    if (queryTimedOut()) throw new QueryError(QueryErrorKind.Timeout, `the query ran longer than ${req.timeoutMs} ms and was interrupted`);
    throw new QueryError(QueryErrorKind.Invalid, err instanceof Error ? err.message : String(err), { cause: err });
  }
  const columns = names.map((name, k) => ({ name, type: columnType(name, rows, k) }));
  for (const [k, col] of columns.entries()) {
    if (col.type !== 'Boolean') continue;
    for (const row of rows) if (row[k] !== null) row[k] = row[k] === 1;
  }
  return { columns, rows };
}

function normalise(v: unknown): QueryValue {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return v as QueryValue;
}

/** A column's type from its values (SQLite types values, not columns); booleans by name. */
function columnType(name: string, rows: QueryValue[][], k: number): QueryColumnType {
  let type: QueryColumnType | undefined;
  let zeroOrOne = true;
  for (const row of rows) {
    const v = row[k];
    if (v === null || v === undefined) continue;
    const t: QueryColumnType =
      typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))
        ? 'Int64'
        : typeof v === 'number'
          ? 'Float64'
          : v instanceof Uint8Array
            ? 'Binary'
            : 'Utf8';
    if (v !== 0 && v !== 1) zeroOrOne = false;
    if (type === undefined) type = t;
    else if (type !== t) type = type === 'Int64' && t === 'Float64' ? 'Float64' : t === 'Int64' && type === 'Float64' ? 'Float64' : 'Utf8';
  }
  if (BOOLEAN_COLUMNS.has(name) && zeroOrOne && (type === 'Int64' || type === undefined)) return 'Boolean';
  return type ?? COLUMN_TYPES.get(name) ?? 'Utf8';
}

// Ready: the engine starts a query's clock only now, so a slow start-up is no query's timeout.
parentPort?.postMessage({ ready: true });

parentPort?.on('message', (req: QueryRequest) => {
  let reply: QueryReply;
  try {
    reply = { id: req.id, ok: true, ...run(req) };
  } catch (err) {
    const e = err instanceof QueryError ? err : new QueryError(QueryErrorKind.Invalid, err instanceof Error ? err.message : String(err));
    reply = { id: req.id, ok: false, kind: e.kind, message: e.message };
  }
  parentPort?.postMessage(reply);
});
