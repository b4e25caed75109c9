// Restate's introspection tables as TEMP views over Endure's own tables: the same names and
// columns as Restate's storage-query crate (columns Endure has no data for are NULL), no copy
// of the data. Every view row calls restate_tick(), which enforces the query's time limit.

import type { QueryColumnType } from '../../query.ts';
import type { SqliteDb } from '../db.ts';

interface Column {
  readonly name: string;
  readonly type: QueryColumnType | 'Timestamp';
  /** SQL over the view's FROM clause. */
  readonly sql: string;
}

interface View {
  readonly name: string;
  readonly from: string;
  readonly columns: readonly Column[];
}

const c = (name: string, type: Column['type'], sql: string): Column => ({ name, type, sql });
const none = (name: string, type: Column['type']): Column => c(name, type, 'NULL');

// Columns of an invocation row (alias i of main.invocation) that read its status record.
const st = (field: string) => `restate_status(i.id, i.modified_at, i.data, '${field}')`;
const TARGET = "i.service || '/' || CASE WHEN i.key IS NOT NULL THEN i.key || '/' ELSE '' END || i.handler";

const STATUS_COLUMNS: readonly Column[] = [
  c('partition_key', 'Int64', 'restate_id_partition_key(i.id)'),
  c('id', 'Utf8', 'i.id'),
  c('status', 'Utf8', 'i.status'),
  c('completion_result', 'Utf8', st('completion_result')),
  c('completion_failure', 'Utf8', st('completion_failure')),
  c('completion_failure_code', 'Int64', st('completion_failure_code')),
  c('target', 'Utf8', TARGET),
  c('target_service_name', 'Utf8', 'i.service'),
  c('target_service_key', 'Utf8', 'i.key'),
  c('target_handler_name', 'Utf8', 'i.handler'),
  c('target_service_ty', 'Utf8', st('target_service_ty')),
  c('idempotency_key', 'Utf8', 'i.idempotency_key'),
  c('invoked_by', 'Utf8', st('invoked_by')),
  c('invoked_by_id', 'Utf8', st('invoked_by_id')),
  none('invoked_by_subscription_id', 'Utf8'),
  none('invoked_by_service_name', 'Utf8'),
  none('invoked_by_target', 'Utf8'),
  none('restarted_from', 'Utf8'),
  c('pinned_deployment_id', 'Utf8', st('pinned_deployment_id')),
  none('pinned_service_protocol_version', 'Int64'),
  none('trace_id', 'Utf8'),
  c('journal_size', 'Int64', st('journal_size')),
  c('journal_commands_size', 'Int64', st('journal_commands_size')),
  c('created_at', 'Timestamp', 'restate_ts(i.created_at)'),
  c('modified_at', 'Timestamp', 'restate_ts(i.modified_at)'),
  none('inboxed_at', 'Timestamp'),
  none('scheduled_at', 'Timestamp'),
  none('scheduled_start_at', 'Timestamp'),
  none('running_at', 'Timestamp'),
  c('completed_at', 'Timestamp', 'restate_ts(i.completed_at)'),
];

// What the invoker reports about an invocation it is running or retrying: handed to the query
// by the engine (it lives in the invoker's memory, not in the store).
const at = (field: string) => `restate_attempt(i.id, '${field}')`;
const ATTEMPT_COLUMNS: readonly Column[] = [
  c('retry_count', 'Int64', at('retry_count')),
  c('last_start_at', 'Timestamp', at('last_start_at')),
  c('last_attempt_deployment_id', 'Utf8', `CASE WHEN ${at('status')} IS NOT NULL THEN ${st('pinned_deployment_id')} END`),
  none('last_attempt_server', 'Utf8'),
  c('next_retry_at', 'Timestamp', at('next_retry_at')),
  c('last_failure', 'Utf8', at('last_failure')),
  c('last_failure_error_code', 'Utf8', at('last_failure_error_code')),
  none('last_failure_related_entry_index', 'Int64'),
  none('last_failure_related_entry_name', 'Utf8'),
  none('last_failure_related_entry_type', 'Utf8'),
];

// sys_invocation's status: Restate's names, seen from outside the partition.
// An invoked invocation the invoker has not picked up (yet) is `ready`.
const INVOCATION_STATUS = `CASE i.status WHEN 'inboxed' THEN 'pending' WHEN 'invoked' THEN coalesce(${at('status')}, 'ready') ELSE i.status END`;

const J = (field: string) => `restate_journal(j.invocation_id, j.idx, j.type, j.body, '${field}')`;

/** The views, in dependency order. */
export const VIEWS: readonly View[] = [
  {
    name: 'sys_invocation_status',
    from: 'main.invocation i',
    columns: STATUS_COLUMNS,
  },
  {
    name: 'sys_invocation_state',
    from: `main.invocation i WHERE i.status = 'invoked' AND ${at('status')} IS NOT NULL`,
    columns: [
      c('partition_key', 'Int64', 'restate_id_partition_key(i.id)'),
      c('id', 'Utf8', 'i.id'),
      c('in_flight', 'Boolean', `${at('status')} = 'running'`),
      ...ATTEMPT_COLUMNS,
    ],
  },
  {
    name: 'sys_invocation',
    from: 'main.invocation i',
    columns: [
      ...STATUS_COLUMNS.map((col) => (col.name === 'status' ? c('status', 'Utf8', INVOCATION_STATUS) : col)),
      ...ATTEMPT_COLUMNS,
    ],
  },
  {
    name: 'sys_journal',
    from: 'main.journal j',
    columns: [
      c('partition_key', 'Int64', 'restate_id_partition_key(j.invocation_id)'),
      c('id', 'Utf8', 'j.invocation_id'),
      c('index', 'Int64', 'j.idx'),
      c('entry_type', 'Utf8', 'restate_entry_type(j.type)'),
      c('name', 'Utf8', J('name')),
      c(
        'completed',
        'Boolean',
        `CASE WHEN ${J('result_completion_id')} IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM main.journal n
           WHERE n.invocation_id = j.invocation_id AND n.type >= 32768 AND n.type < 64511
             AND n.completion_id = ${J('result_completion_id')}) END`,
      ),
      c(
        'invoked_id',
        'Utf8',
        `(SELECT restate_journal(n.invocation_id, n.idx, n.type, n.body, 'invocation_id') FROM main.journal n
           WHERE n.invocation_id = j.invocation_id AND n.type = 32782
             AND n.completion_id = ${J('invocation_id_notification_idx')})`,
      ),
      c('invoked_target', 'Utf8', J('invoked_target')),
      c('sleep_wakeup_at', 'Timestamp', J('sleep_wakeup_at')),
      c('promise_name', 'Utf8', J('promise_name')),
      c('raw', 'Binary', 'j.body'),
      c('version', 'Int64', '1'),
      none('entry_json', 'Utf8'),
      none('appended_at', 'Timestamp'),
    ],
  },
  {
    name: 'state',
    from: 'main.state s',
    columns: [
      c('partition_key', 'Int64', 'restate_partition_key(s.key)'),
      c('service_name', 'Utf8', 's.service'),
      c('service_key', 'Utf8', 's.key'),
      c('key', 'Utf8', 'restate_text(s.name)'),
      c('value_utf8', 'Utf8', 'restate_text(s.value)'),
      c('value', 'Binary', 's.value'),
    ],
  },
  {
    name: 'sys_inbox',
    from: 'main.inbox b LEFT JOIN main.invocation i ON i.id = b.invocation_id',
    columns: [
      c('partition_key', 'Int64', 'restate_partition_key(b.key)'),
      c('service_name', 'Utf8', 'b.service'),
      c('service_key', 'Utf8', 'b.key'),
      c('id', 'Utf8', 'b.invocation_id'),
      c('sequence_number', 'Int64', 'b.seq'),
      c('created_at', 'Timestamp', 'restate_ts(i.created_at)'),
    ],
  },
  {
    name: 'sys_keyed_service_status',
    from: 'main.object_lock l',
    columns: [
      c('partition_key', 'Int64', 'restate_partition_key(l.key)'),
      c('service_name', 'Utf8', 'l.service'),
      c('service_key', 'Utf8', 'l.key'),
      c('invocation_id', 'Utf8', 'l.invocation_id'),
    ],
  },
  {
    name: 'sys_promise',
    from: 'main.promise p',
    columns: [
      c('partition_key', 'Int64', 'restate_partition_key(p.key)'),
      c('service_name', 'Utf8', 'p.service'),
      c('service_key', 'Utf8', 'p.key'),
      c('key', 'Utf8', 'p.name'),
      c('completed', 'Boolean', 'p.result IS NOT NULL'),
      c('completion_success_value', 'Binary', "restate_result(p.result, 'value')"),
      c('completion_success_value_utf8', 'Utf8', "restate_result(p.result, 'value_utf8')"),
      c('completion_failure', 'Utf8', "restate_result(p.result, 'failure')"),
    ],
  },
  {
    name: 'sys_idempotency',
    from: 'main.idempotency d',
    columns: [
      c('partition_key', 'Int64', "restate_partition_key(CASE WHEN d.key <> '' THEN d.key ELSE d.idempotency_key END)"),
      c('service_name', 'Utf8', 'd.service'),
      c('service_key', 'Utf8', "NULLIF(d.key, '')"),
      c('service_handler', 'Utf8', 'd.handler'),
      c('idempotency_key', 'Utf8', 'd.idempotency_key'),
      c('invocation_id', 'Utf8', 'd.invocation_id'),
    ],
  },
  {
    name: 'sys_service',
    from: 'main.service v',
    columns: [
      c('name', 'Utf8', 'v.name'),
      c('revision', 'Int64', 'v.revision'),
      c('public', 'Boolean', "json_extract(v.data, '$.public')"),
      c('ty', 'Utf8', "lower(json_extract(v.data, '$.ty'))"),
      c('deployment_id', 'Utf8', 'v.deployment_id'),
    ],
  },
  {
    name: 'sys_deployment',
    from: 'main.deployment d',
    columns: [
      c('id', 'Utf8', 'd.id'),
      c('ty', 'Utf8', "'http'"),
      c('endpoint', 'Utf8', 'd.url'),
      c('created_at', 'Timestamp', 'restate_ts(d.created_at)'),
      c('min_service_protocol_version', 'Int64', "json_extract(d.data, '$.deployment.minProtocolVersion')"),
      c('max_service_protocol_version', 'Int64', "json_extract(d.data, '$.deployment.maxProtocolVersion')"),
    ],
  },
];

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

const ARROW_NAMES: Record<Column['type'], string> = {
  Int64: 'Int64',
  Float64: 'Float64',
  Utf8: 'LargeUtf8',
  Binary: 'LargeBinary',
  Boolean: 'Boolean',
  Timestamp: 'Timestamp(Millisecond, Some("+00:00"))',
};

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

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
        `('restate', 'public', ${quote(v.name)}, ${quote(col.name)}, ${k}, ${quote(ARROW_NAMES[col.type])}, 'YES')`,
    ),
  );
  db.exec(`CREATE TEMP VIEW information_schema_columns AS SELECT column1 AS table_catalog, column2 AS table_schema,
    column3 AS table_name, column4 AS column_name, column5 AS ordinal_position, column6 AS data_type,
    column7 AS is_nullable FROM (VALUES ${columnRows.join(',\n')}) WHERE restate_tick()`);
  const tableRows = VIEWS.map((v) => `('restate', 'public', ${quote(v.name)}, 'VIEW')`);
  db.exec(`CREATE TEMP VIEW information_schema_tables AS SELECT column1 AS table_catalog, column2 AS table_schema,
    column3 AS table_name, column4 AS table_type FROM (VALUES ${tableRows.join(',\n')}) WHERE restate_tick()`);
}
