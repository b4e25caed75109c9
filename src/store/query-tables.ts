/**
 * Restate's introspection tables (`sys_invocation`, `sys_journal`, `state`, …), declared once
 * for every backend: the same names, columns and types as Restate's storage-query crate
 * (columns Endure has no data for are NULL), each column an expression over the store's own
 * tables. What differs between SQL engines — how a record's bytes are decoded, how a time is
 * written, where the invoker's attempts come from — is asked of a {@link TableDialect}; the
 * SQLite engine (store/sqlite/query) and the PostgreSQL engine (store/postgres/query) each
 * provide one and turn the resulting views into their own SQL.
 */

import { messageTypeName, MessageType } from '../protocol/index.ts';
import type { QueryColumnType } from './query.ts';

/** A column's type; times are RFC 3339 text in answers. */
export type ColumnType = QueryColumnType | 'Timestamp';

/** One column of a view: its Restate name and type, and its SQL over the view's FROM clause. */
export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly sql: string;
}

/** One of Restate's tables as a view of the store's tables. */
export interface View {
  readonly name: string;
  /** The FROM clause (and the WHERE clause, if any) the columns read. */
  readonly from: string;
  readonly columns: readonly Column[];
}

/** Fields of an invocation status record (the `data` bytes of an invocation row). */
export type StatusField =
  | 'completion_result'
  | 'completion_failure'
  | 'completion_failure_code'
  | 'target_service_ty'
  | 'pinned_deployment_id'
  | 'journal_size'
  | 'journal_commands_size'
  | 'invoked_by'
  | 'invoked_by_id';

/** What the invoker reports about an attempt it runs or retries (kept in its memory). */
export type AttemptField = 'status' | 'retry_count' | 'last_start_at' | 'next_retry_at' | 'last_failure' | 'last_failure_error_code';

/** Fields of a journal entry's protobuf body. */
export type JournalField =
  | 'name'
  | 'result_completion_id'
  | 'invocation_id_notification_idx'
  | 'invocation_id'
  | 'sleep_wakeup_at'
  | 'invoked_target'
  | 'promise_name';

/** Fields of a completed promise's result record. */
export type ResultField = 'value' | 'value_utf8' | 'failure';

/**
 * How one SQL engine writes what the tables need. Every method returns an SQL expression (or,
 * for `table` and `invocations`, a FROM item); arguments are SQL expressions too.
 */
export interface TableDialect {
  /** A store table by its name. */
  table(name: string): string;
  /** The invocation table as alias `i`, with whatever `attempt()` reads joined to it. */
  invocations(): string;
  /** NULL of a column type. */
  none(type: ColumnType): string;
  /** A time from epoch milliseconds. */
  ts(ms: string): string;
  /** Bytes as UTF-8 text; NULL when they are not UTF-8. */
  text(bytes: string): string;
  /** The partition key of a service key, as a signed 64-bit integer (Restate shows it so). */
  partitionKey(key: string): string;
  /** The partition key carried by an invocation id; NULL for a malformed id. */
  idPartitionKey(id: string): string;
  /** A field of the status record of invocation row `i`. */
  status(field: StatusField): string;
  /** A field of the invoker's attempt at invocation row `i`; NULL when it has none. */
  attempt(field: AttemptField): string;
  /** Restate's name of a journal entry type. */
  entryType(type: string): string;
  /** A field of the body of the journal row `alias`; NULL where its type has no such field. */
  journal(alias: string, field: JournalField): string;
  /** A field of a promise result record; NULL for NULL bytes. */
  result(bytes: string, field: ResultField): string;
  /** A member of a JSON document kept as text, at `path`, of the given type. */
  json(doc: string, path: readonly string[], type: 'Boolean' | 'Int64' | 'Utf8'): string;
}

// Restate's entry type names (journal version 1): the command without its suffix.
const ENTRY_TYPE_NAMES: Record<number, string> = {
  [MessageType.InputCommand]: 'Input',
  [MessageType.OutputCommand]: 'Output',
  [MessageType.GetLazyStateCommand]: 'GetState',
  [MessageType.GetEagerStateCommand]: 'GetState',
  [MessageType.SetStateCommand]: 'SetState',
  [MessageType.ClearStateCommand]: 'ClearState',
  [MessageType.ClearAllStateCommand]: 'ClearAllState',
  [MessageType.GetLazyStateKeysCommand]: 'GetStateKeys',
  [MessageType.GetEagerStateKeysCommand]: 'GetStateKeys',
  [MessageType.GetPromiseCommand]: 'GetPromise',
  [MessageType.PeekPromiseCommand]: 'PeekPromise',
  [MessageType.CompletePromiseCommand]: 'CompletePromise',
  [MessageType.SleepCommand]: 'Sleep',
  [MessageType.CallCommand]: 'Call',
  [MessageType.OneWayCallCommand]: 'OneWayCall',
  [MessageType.SendSignalCommand]: 'SendSignal',
  [MessageType.RunCommand]: 'Run',
  [MessageType.AttachInvocationCommand]: 'AttachInvocation',
  [MessageType.GetInvocationOutputCommand]: 'GetInvocationOutput',
  [MessageType.CompleteAwakeableCommand]: 'CompleteAwakeable',
};

/** The journal entry type as Restate names it; notifications keep their protocol name. */
export function entryTypeName(type: number): string {
  return ENTRY_TYPE_NAMES[type] ?? messageTypeName(type).replace(/Message$/, '');
}

const c = (name: string, type: ColumnType, sql: string): Column => ({ name, type, sql });

/** Restate's introspection tables, in dependency order, written in dialect `d`. */
export function introspectionViews(d: TableDialect): View[] {
  const none = (name: string, type: ColumnType): Column => c(name, type, d.none(type));
  const st = (field: StatusField) => d.status(field);
  const at = (field: AttemptField) => d.attempt(field);
  const J = (field: JournalField) => d.journal('j', field);
  const target = "i.service || '/' || CASE WHEN i.key IS NOT NULL THEN i.key || '/' ELSE '' END || i.handler";

  const statusColumns: Column[] = [
    c('partition_key', 'Int64', d.idPartitionKey('i.id')),
    c('id', 'Utf8', 'i.id'),
    c('status', 'Utf8', 'i.status'),
    c('completion_result', 'Utf8', st('completion_result')),
    c('completion_failure', 'Utf8', st('completion_failure')),
    c('completion_failure_code', 'Int64', st('completion_failure_code')),
    c('target', 'Utf8', target),
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
    c('created_at', 'Timestamp', d.ts('i.created_at')),
    c('modified_at', 'Timestamp', d.ts('i.modified_at')),
    none('inboxed_at', 'Timestamp'),
    none('scheduled_at', 'Timestamp'),
    none('scheduled_start_at', 'Timestamp'),
    none('running_at', 'Timestamp'),
    c('completed_at', 'Timestamp', d.ts('i.completed_at')),
  ];

  const attemptColumns: Column[] = [
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
  const invocationStatus = `CASE i.status WHEN 'inboxed' THEN 'pending' WHEN 'invoked' THEN coalesce(${at('status')}, 'ready') ELSE i.status END`;
  const journal = d.table('journal');

  return [
    { name: 'sys_invocation_status', from: d.invocations(), columns: statusColumns },
    {
      name: 'sys_invocation_state',
      from: `${d.invocations()} WHERE i.status = 'invoked' AND ${at('status')} IS NOT NULL`,
      columns: [
        c('partition_key', 'Int64', d.idPartitionKey('i.id')),
        c('id', 'Utf8', 'i.id'),
        c('in_flight', 'Boolean', `${at('status')} = 'running'`),
        ...attemptColumns,
      ],
    },
    {
      name: 'sys_invocation',
      from: d.invocations(),
      columns: [...statusColumns.map((col) => (col.name === 'status' ? c('status', 'Utf8', invocationStatus) : col)), ...attemptColumns],
    },
    {
      name: 'sys_journal',
      from: `${journal} j`,
      columns: [
        c('partition_key', 'Int64', d.idPartitionKey('j.invocation_id')),
        c('id', 'Utf8', 'j.invocation_id'),
        c('index', 'Int64', 'j.idx'),
        c('entry_type', 'Utf8', d.entryType('j.type')),
        c('name', 'Utf8', J('name')),
        c(
          'completed',
          'Boolean',
          `CASE WHEN ${J('result_completion_id')} IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM ${journal} n
           WHERE n.invocation_id = j.invocation_id AND n.type >= 32768 AND n.type < 64511
             AND n.completion_id = ${J('result_completion_id')}) END`,
        ),
        c(
          'invoked_id',
          'Utf8',
          `(SELECT ${d.journal('n', 'invocation_id')} FROM ${journal} n
           WHERE n.invocation_id = j.invocation_id AND n.type = ${MessageType.CallInvocationIdCompletionNotification}
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
      from: `${d.table('state')} s`,
      columns: [
        c('partition_key', 'Int64', d.partitionKey('s.key')),
        c('service_name', 'Utf8', 's.service'),
        c('service_key', 'Utf8', 's.key'),
        c('key', 'Utf8', d.text('s.name')),
        c('value_utf8', 'Utf8', d.text('s.value')),
        c('value', 'Binary', 's.value'),
      ],
    },
    {
      name: 'sys_inbox',
      from: `${d.table('inbox')} b LEFT JOIN ${d.table('invocation')} i ON i.id = b.invocation_id`,
      columns: [
        c('partition_key', 'Int64', d.partitionKey('b.key')),
        c('service_name', 'Utf8', 'b.service'),
        c('service_key', 'Utf8', 'b.key'),
        c('id', 'Utf8', 'b.invocation_id'),
        c('sequence_number', 'Int64', 'b.seq'),
        c('created_at', 'Timestamp', d.ts('i.created_at')),
      ],
    },
    {
      name: 'sys_keyed_service_status',
      from: `${d.table('object_lock')} l`,
      columns: [
        c('partition_key', 'Int64', d.partitionKey('l.key')),
        c('service_name', 'Utf8', 'l.service'),
        c('service_key', 'Utf8', 'l.key'),
        c('invocation_id', 'Utf8', 'l.invocation_id'),
      ],
    },
    {
      name: 'sys_promise',
      from: `${d.table('promise')} p`,
      columns: [
        c('partition_key', 'Int64', d.partitionKey('p.key')),
        c('service_name', 'Utf8', 'p.service'),
        c('service_key', 'Utf8', 'p.key'),
        c('key', 'Utf8', 'p.name'),
        c('completed', 'Boolean', 'p.result IS NOT NULL'),
        c('completion_success_value', 'Binary', d.result('p.result', 'value')),
        c('completion_success_value_utf8', 'Utf8', d.result('p.result', 'value_utf8')),
        c('completion_failure', 'Utf8', d.result('p.result', 'failure')),
      ],
    },
    {
      name: 'sys_idempotency',
      from: `${d.table('idempotency')} d`,
      columns: [
        c('partition_key', 'Int64', d.partitionKey("CASE WHEN d.key <> '' THEN d.key ELSE d.idempotency_key END")),
        c('service_name', 'Utf8', 'd.service'),
        c('service_key', 'Utf8', "NULLIF(d.key, '')"),
        c('service_handler', 'Utf8', 'd.handler'),
        c('idempotency_key', 'Utf8', 'd.idempotency_key'),
        c('invocation_id', 'Utf8', 'd.invocation_id'),
      ],
    },
    {
      name: 'sys_service',
      from: `${d.table('service')} v`,
      columns: [
        c('name', 'Utf8', 'v.name'),
        c('revision', 'Int64', 'v.revision'),
        c('public', 'Boolean', d.json('v.data', ['public'], 'Boolean')),
        c('ty', 'Utf8', `lower(${d.json('v.data', ['ty'], 'Utf8')})`),
        c('deployment_id', 'Utf8', 'v.deployment_id'),
      ],
    },
    {
      name: 'sys_deployment',
      from: `${d.table('deployment')} d`,
      columns: [
        c('id', 'Utf8', 'd.id'),
        c('ty', 'Utf8', "'http'"),
        c('endpoint', 'Utf8', 'd.url'),
        c('created_at', 'Timestamp', d.ts('d.created_at')),
        c('min_service_protocol_version', 'Int64', d.json('d.data', ['deployment', 'minProtocolVersion'], 'Int64')),
        c('max_service_protocol_version', 'Int64', d.json('d.data', ['deployment', 'maxProtocolVersion'], 'Int64')),
      ],
    },
  ];
}

/** The Arrow type information_schema.columns reports for each column type, as Restate does. */
export const ARROW_TYPE_NAMES: Readonly<Record<ColumnType, string>> = {
  Int64: 'Int64',
  Float64: 'Float64',
  Utf8: 'LargeUtf8',
  Binary: 'LargeBinary',
  Boolean: 'Boolean',
  Timestamp: 'Timestamp(Millisecond, Some("+00:00"))',
};

/** The rows of information_schema.columns for `views`. */
export function informationSchemaColumns(views: readonly View[]): {
  table_name: string;
  column_name: string;
  ordinal_position: number;
  data_type: string;
}[] {
  return views.flatMap((v) =>
    v.columns.map((col, k) => ({ table_name: v.name, column_name: col.name, ordinal_position: k, data_type: ARROW_TYPE_NAMES[col.type] })),
  );
}

/** An SQL string literal. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
