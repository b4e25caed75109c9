// Restate's introspection tables (store/query-tables.ts) as TEMP views over Endure's own
// tables, no copy of the data. Record bytes are read by the SQL functions of functions.ts;
// every view row calls restate_tick(), which enforces the query's time limit.

import type { QueryColumnType } from '../../query.ts';
import { ARROW_TYPE_NAMES, introspectionViews, sqlString as quote, type TableDialect, type View } from '../../query-tables.ts';
import type { SqliteDb } from '../db.ts';

/** The tables' expressions in SQLite, through the functions registered by functions.ts. */
const SQLITE: TableDialect = {
  table: (name) => `main.${name}`,
  invocations: () => 'main.invocation i',
  none: () => 'NULL',
  ts: (ms) => `restate_ts(${ms})`,
  text: (bytes) => `restate_text(${bytes})`,
  partitionKey: (key) => `restate_partition_key(${key})`,
  idPartitionKey: (id) => `restate_id_partition_key(${id})`,
  status: (field) => `restate_status(i.id, i.modified_at, i.data, '${field}')`,
  attempt: (field) => `restate_attempt(i.id, '${field}')`,
  entryType: (type) => `restate_entry_type(${type})`,
  journal: (a, field) => `restate_journal(${a}.invocation_id, ${a}.idx, ${a}.type, ${a}.body, '${field}')`,
  result: (bytes, field) => `restate_result(${bytes}, '${field}')`,
  json: (doc, path) => `json_extract(${doc}, '$.${path.join('.')}')`,
};

/** The views, in dependency order. */
export const VIEWS: readonly View[] = introspectionViews(SQLITE);

/** Column names that hold booleans: SQLite returns them as 0/1, the answers say true/false. */
export const BOOLEAN_COLUMNS: ReadonlySet<string> = new Set([
  ...VIEWS.flatMap((v) => v.columns.filter((col) => col.type === 'Boolean').map((col) => col.name)),
  // An expression Restate's CLI computes in its invocation query.
  'pinned_deployment_exists',
]);

/** A column's type by its name, where every view agrees on it: types columns with no values. */
export const COLUMN_TYPES: ReadonlyMap<string, QueryColumnType> = (() => {
  const seen = new Map<string, QueryColumnType | null>();
  for (const v of VIEWS) {
    for (const col of v.columns) {
      const t = col.type === 'Timestamp' ? 'Utf8' : col.type;
      const prev = seen.get(col.name);
      seen.set(col.name, prev === undefined || prev === t ? t : null);
    }
  }
  return new Map([...seen].filter((e): e is [string, QueryColumnType] => e[1] !== null));
})();

/** The store's own tables: hidden from queries, which see Restate's tables only. */
const STORE_TABLES = [
  'meta', 'log', 'fsm', 'invocation', 'journal', 'object_lock', 'inbox', 'outbox', 'timer', 'idempotency',
  'dedup', 'deployment', 'service', 'promise', 'schema_migration',
];

/**
 * Creates the views, and information_schema's `columns` and `tables` for them, as TEMP views.
 * TEMP views come first in name resolution: `state` is Restate's, and each store table is
 * shadowed by a view that fails, so that every row a query reads passes the time limit check.
 */
export function createViews(db: SqliteDb): void {
  const tables = new Set(
    (db.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name),
  );
  for (const t of [...STORE_TABLES, ...tables]) {
    if (t.startsWith('sqlite_') || VIEWS.some((v) => v.name === t)) continue;
    db.exec(`CREATE TEMP VIEW IF NOT EXISTS "${t}" (hidden) AS SELECT restate_no_table(${quote(t)})`);
  }
  for (const v of VIEWS) {
    const cols = v.columns.map((col) => `${col.sql} AS "${col.name}"`).join(',\n  ');
    const where = v.from.includes(' WHERE ') ? ' AND restate_tick()' : ' WHERE restate_tick()';
    db.exec(`CREATE TEMP VIEW "${v.name}" AS SELECT\n  ${cols}\nFROM ${v.from}${where}`);
  }
  const columnRows = VIEWS.flatMap((v) =>
    v.columns.map(
      (col, k) =>
        `('restate', 'public', ${quote(v.name)}, ${quote(col.name)}, ${k}, ${quote(ARROW_TYPE_NAMES[col.type])}, 'YES')`,
    ),
  );
  db.exec(`CREATE TEMP VIEW information_schema_columns AS SELECT column1 AS table_catalog, column2 AS table_schema,
    column3 AS table_name, column4 AS column_name, column5 AS ordinal_position, column6 AS data_type,
    column7 AS is_nullable FROM (VALUES ${columnRows.join(',\n')}) WHERE restate_tick()`);
  const tableRows = VIEWS.map((v) => `('restate', 'public', ${quote(v.name)}, 'VIEW')`);
  db.exec(`CREATE TEMP VIEW information_schema_tables AS SELECT column1 AS table_catalog, column2 AS table_schema,
    column3 AS table_name, column4 AS table_type FROM (VALUES ${tableRows.join(',\n')}) WHERE restate_tick()`);
}
