// Restate's introspection tables (store/query-tables.ts) on PostgreSQL: TEMP views over the
// store's tables, created on the query engine's own connection, no copy of the data.
//
// The store keeps records as protobuf bytes (store/records.ts, the protocol's journal
// messages). PostgreSQL reads the few fields the tables show straight from those bytes, with a
// small protobuf field reader (endure_pb_all below) in the connection's temporary schema:
// queries can then filter, join and aggregate on any column, and the store's write path stays
// exactly as it is — no second copy of a field beside its record, nothing to backfill. The
// journal's field numbers come from the protocol's message descriptors; the status and result
// records' from their writers in store/records.ts and log/wire.ts (recorded below; the query
// tests compare both engines' answers on the same records).

import { RecordFormat, wire } from '../../../log/index.ts';
import { MESSAGE_SCHEMAS, MessageType } from '../../../protocol/index.ts';
import { BASE62_ALPHABET, INVOCATION_ID_PREFIX, PARTITION_KEY_CHARS, UUID_CHARS } from '../../../types/ids.ts';
import {
  entryTypeName,
  informationSchemaColumns,
  introspectionViews,
  sqlString,
  type ColumnType,
  type JournalField,
  type StatusField,
  type TableDialect,
  type View,
} from '../../query-tables.ts';

/** The session setting through which each query hands its attempts to the views. */
export const ATTEMPTS_SETTING = 'endure.attempts';

/**
 * Field numbers of the records the views read: InvocationStatus (records.ts writeStatus),
 * ResolvedTarget (wire.putTarget), Sink (wire.putSink), InvocationResult and Failure
 * (wire.putResult, putFailure). Protobuf field numbers never change once written.
 */
const F = {
  status: { target: 4, journalLength: 9, commandCount: 10, sink: 12, result: 13 },
  target: { serviceType: 4, deploymentId: 6 },
  sink: { invocation: 2 },
  invocationSink: { id: 1 },
  result: { value: 1, failure: 2 },
  failure: { code: 1, message: 2 },
} as const;

const fn = (name: string) => `pg_temp.endure_${name}`;
const pb = (bytes: string, ...path: number[]) => `${fn('pb')}(${bytes}, ${path.join(', ')})`;
const uint = (bytes: string) => `${fn('pb_uint')}(${bytes})`;
const utf8 = (bytes: string) => `${fn('utf8')}(${bytes})`;
const record = (bytes: string) => `${fn('record')}(${bytes})`;
const ts = (ms: string) => `('epoch'::timestamptz + (${ms})::double precision * interval '1 millisecond')`;

/** `[code] message` of a Failure message's bytes, NULL when there is none. */
const failureText = (f: string) =>
  `CASE WHEN ${f} IS NOT NULL THEN '[' || coalesce(${uint(pb(f, F.failure.code))}, 0) || '] ' || coalesce(${utf8(pb(f, F.failure.message))}, '') END`;

/**
 * The message types whose schema has a field named `localName`, by field number: the journal
 * fields are read from the protocol's own descriptors, so the views and the SDK agree.
 */
function typesWithField(localName: string, only?: readonly number[]): Map<number, number[]> {
  const byNumber = new Map<number, number[]>();
  for (const [type, schema] of Object.entries(MESSAGE_SCHEMAS)) {
    if (only !== undefined && !only.includes(Number(type))) continue;
    const field = schema.fields.find((f) => f.localName === localName);
    if (field === undefined) continue;
    byNumber.set(field.number, [...(byNumber.get(field.number) ?? []), Number(type)]);
  }
  return byNumber;
}

/** An expression of the body of journal row `a` for the types that have `localName`, NULL for the others. */
function journalCase(a: string, localName: string, read: (bytes: string) => string, only?: readonly number[]): string {
  const arms = [...typesWithField(localName, only)].map(([num, types]) => `WHEN ${a}.type IN (${types.join(', ')}) THEN ${read(pb(`${a}.body`, num))}`);
  return arms.length === 0 ? 'NULL' : `(CASE ${arms.join(' ')} END)`;
}

const PG_TYPES: Record<ColumnType, string> = {
  Int64: 'bigint',
  Float64: 'double precision',
  Utf8: 'text',
  Binary: 'bytea',
  Boolean: 'boolean',
  Timestamp: 'timestamptz',
};

/** The tables' expressions in PostgreSQL, over the store tables of `schema`. */
function postgresDialect(schema: string): TableDialect {
  const table = (name: string) => `"${schema}".${name}`;
  const rec = record('i.data');
  const failure = pb(rec, F.status.result, F.result.failure);
  const sinks = `unnest(${fn('pb_all')}(${rec}, ${F.status.sink}))`;
  const invocationSink = (s: string) => pb(s, F.sink.invocation);
  const serviceTypes = wire.SERVICE_TYPES;
  const status: Record<StatusField, string> = {
    completion_result: `CASE WHEN i.status <> 'completed' OR ${rec} IS NULL THEN NULL WHEN ${failure} IS NOT NULL THEN 'failure' ELSE 'success' END`,
    completion_failure: failureText(failure),
    completion_failure_code: `CASE WHEN ${failure} IS NOT NULL THEN coalesce(${uint(pb(failure, F.failure.code))}, 0) END`,
    target_service_ty: `(CASE ${uint(pb(rec, F.status.target, F.target.serviceType))} ${(['SERVICE', 'VIRTUAL_OBJECT', 'WORKFLOW'] as const)
      .map((t) => `WHEN ${serviceTypes.encode(t)} THEN '${t.toLowerCase()}'`)
      .join(' ')} END)`,
    pinned_deployment_id: `coalesce(${utf8(pb(rec, F.status.target, F.target.deploymentId))}, CASE WHEN ${rec} IS NOT NULL THEN '' END)`,
    journal_size: `CASE WHEN ${rec} IS NOT NULL THEN coalesce(${uint(pb(rec, F.status.journalLength))}, 0) END`,
    journal_commands_size: `CASE WHEN ${rec} IS NOT NULL THEN coalesce(${uint(pb(rec, F.status.commandCount))}, 0) END`,
    invoked_by: `CASE WHEN ${rec} IS NULL THEN NULL WHEN EXISTS (SELECT 1 FROM ${sinks} AS s(b) WHERE ${invocationSink('s.b')} IS NOT NULL) THEN 'service' ELSE 'ingress' END`,
    invoked_by_id: `(SELECT ${utf8(pb(invocationSink('s.b'), F.invocationSink.id))} FROM ${sinks} WITH ORDINALITY AS s(b, n)
      WHERE ${invocationSink('s.b')} IS NOT NULL ORDER BY s.n LIMIT 1)`,
  };
  const text = (bytes: string) => `NULLIF(${utf8(bytes)}, '')`;
  const nonZero = (bytes: string) => `NULLIF(${uint(bytes)}, 0)`;
  const journal = (a: string, field: JournalField): string => {
    switch (field) {
      case 'name':
        return journalCase(a, 'name', text);
      case 'result_completion_id':
        return journalCase(a, 'resultCompletionId', nonZero);
      case 'invocation_id_notification_idx':
        return journalCase(a, 'invocationIdNotificationIdx', nonZero);
      case 'invocation_id':
        return journalCase(a, 'invocationId', text, [MessageType.CallInvocationIdCompletionNotification]);
      case 'sleep_wakeup_at':
        return journalCase(a, 'wakeUpTime', (b) => ts(`coalesce(${uint(b)}, 0)`), [MessageType.SleepCommand]);
      case 'promise_name':
        return journalCase(a, 'key', text, [MessageType.GetPromiseCommand, MessageType.PeekPromiseCommand, MessageType.CompletePromiseCommand]);
      case 'invoked_target': {
        const calls = [MessageType.CallCommand, MessageType.OneWayCallCommand];
        const part = (name: string) => journalCase(a, name, utf8, calls);
        return `CASE WHEN ${a}.type IN (${calls.join(', ')}) THEN coalesce(${part('serviceName')}, '') || '/' || coalesce(NULLIF(${part('key')}, '') || '/', '') || coalesce(${part('handlerName')}, '') END`;
      }
    }
  };
  const attempt = (key: string) => `(a.attempt ->> '${key}')`;
  return {
    table,
    invocations: () => `${table('invocation')} i LEFT JOIN pg_temp.endure_attempt a ON a.id = i.id`,
    none: (type) => `NULL::${PG_TYPES[type]}`,
    ts,
    text: utf8,
    partitionKey: (key) => `('x' || encode(substr(sha256(convert_to(${key}, 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint`,
    idPartitionKey: (id) => `${fn('id_partition_key')}(${id})`,
    status: (field) => status[field],
    attempt: (field) => {
      switch (field) {
        case 'status':
          return attempt('status');
        case 'retry_count':
          return `${attempt('retryCount')}::bigint`;
        case 'last_start_at':
          return ts(attempt('lastStartAt'));
        case 'next_retry_at':
          return ts(attempt('nextRetryAt'));
        case 'last_failure':
          return attempt('lastFailure');
        case 'last_failure_error_code':
          return attempt('lastFailureCode');
      }
    },
    entryType: (type) =>
      `(CASE ${type} ${[...new Set(Object.values(MessageType))]
        .map((t) => `WHEN ${t} THEN ${sqlString(entryTypeName(t))}`)
        .join(' ')} ELSE '0x' || lpad(to_hex(${type}), 4, '0') END)`,
    journal,
    result: (bytes, field) => {
      const r = record(bytes);
      const value = `CASE WHEN ${pb(r, F.result.failure)} IS NULL THEN ${pb(r, F.result.value)} END`;
      switch (field) {
        case 'value':
          return value;
        case 'value_utf8':
          return utf8(value);
        case 'failure':
          return failureText(pb(r, F.result.failure));
      }
    },
    json: (doc, path, type) => {
      const v = `(${doc}::jsonb #>> '{${path.join(',')}}')`;
      return type === 'Utf8' ? v : `${v}::${PG_TYPES[type]}`;
    },
  };
}

/**
 * The protobuf reader and the other helpers the views call, as functions of the session's
 * temporary schema (they exist only on the query connection; nothing is added to the store).
 */
const FUNCTIONS = `
-- Every occurrence of top-level field \`field\` in protobuf bytes: the payload of a
-- length-delimited field, the varint's bytes, or the fixed 4 or 8 bytes; NULL for bytes that
-- are not protobuf.
CREATE FUNCTION pg_temp.endure_pb_all(b bytea, field int) RETURNS bytea[] LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
  pos int := 0; n int; t bigint; len bigint; shift int; byt int; start int; found bytea[] := '{}';
BEGIN
  IF b IS NULL THEN RETURN NULL; END IF;
  n := length(b);
  WHILE pos < n LOOP
    t := 0; shift := 0;
    LOOP
      IF pos >= n OR shift > 56 THEN RETURN NULL; END IF;
      byt := get_byte(b, pos); pos := pos + 1;
      t := t | ((byt & 127)::bigint << shift); shift := shift + 7;
      EXIT WHEN byt < 128;
    END LOOP;
    start := pos;
    CASE t & 7
      WHEN 0 THEN
        LOOP
          IF pos >= n THEN RETURN NULL; END IF;
          byt := get_byte(b, pos); pos := pos + 1;
          EXIT WHEN byt < 128;
        END LOOP;
      WHEN 1 THEN pos := pos + 8;
      WHEN 5 THEN pos := pos + 4;
      WHEN 2 THEN
        len := 0; shift := 0;
        LOOP
          IF pos >= n OR shift > 56 THEN RETURN NULL; END IF;
          byt := get_byte(b, pos); pos := pos + 1;
          len := len | ((byt & 127)::bigint << shift); shift := shift + 7;
          EXIT WHEN byt < 128;
        END LOOP;
        IF len > n - pos THEN RETURN NULL; END IF;
        start := pos; pos := pos + len::int;
      ELSE RETURN NULL;
    END CASE;
    IF pos > n THEN RETURN NULL; END IF;
    IF (t >> 3) = field THEN found := array_append(found, substr(b, start + 1, pos - start)); END IF;
  END LOOP;
  RETURN found;
END $f$;

-- The field at \`path\` (message fields nested in one another); the last occurrence wins, as
-- protobuf readers do. NULL when absent.
CREATE FUNCTION pg_temp.endure_pb(b bytea, VARIADIC path int[]) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE all_ bytea[]; field int;
BEGIN
  FOREACH field IN ARRAY path LOOP
    all_ := pg_temp.endure_pb_all(b, field);
    IF all_ IS NULL OR cardinality(all_) = 0 THEN RETURN NULL; END IF;
    b := all_[cardinality(all_)];
  END LOOP;
  RETURN b;
END $f$;

-- The unsigned value of a varint's bytes.
CREATE FUNCTION pg_temp.endure_pb_uint(b bytea) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE v bigint := 0; i int;
BEGIN
  IF b IS NULL THEN RETURN NULL; END IF;
  FOR i IN 0 .. least(length(b), 9) - 1 LOOP
    v := v | ((get_byte(b, i) & 127)::bigint << (7 * i));
  END LOOP;
  RETURN v;
END $f$;

-- Bytes as UTF-8 text; NULL when they are not UTF-8.
CREATE FUNCTION pg_temp.endure_utf8(b bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  RETURN convert_from(b, 'UTF8');
EXCEPTION WHEN others THEN
  RETURN NULL;
END $f$;

-- The message of a record (store/records.ts): its bytes after the format byte; NULL for a
-- record of another format.
CREATE FUNCTION pg_temp.endure_record(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE WHEN length(b) > 0 AND get_byte(b, 0) = ${RecordFormat.Protobuf1} THEN substr(b, 2) END
$f$;

-- The partition key an invocation id carries (types/ids.ts), as a signed 64-bit integer.
CREATE FUNCTION pg_temp.endure_id_partition_key(id text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE v numeric := 0; d int; i int;
BEGIN
  IF id IS NULL OR left(id, ${INVOCATION_ID_PREFIX.length}) <> ${sqlString(INVOCATION_ID_PREFIX)}
     OR length(id) <> ${INVOCATION_ID_PREFIX.length + PARTITION_KEY_CHARS + UUID_CHARS} THEN
    RETURN NULL;
  END IF;
  FOR i IN ${INVOCATION_ID_PREFIX.length + 1} .. ${INVOCATION_ID_PREFIX.length + PARTITION_KEY_CHARS} LOOP
    d := strpos(${sqlString(BASE62_ALPHABET)}, substr(id, i, 1) COLLATE "C") - 1;
    IF d < 0 THEN RETURN NULL; END IF;
    v := v * 62 + d;
  END LOOP;
  IF v >= 18446744073709551616 THEN RETURN NULL; END IF;
  IF v >= 9223372036854775808 THEN v := v - 18446744073709551616; END IF;
  RETURN v::bigint;
END $f$;

-- The invoker's attempts, handed to each query through a setting of its transaction.
CREATE VIEW pg_temp.endure_attempt AS
  SELECT key AS id, value AS attempt
  FROM jsonb_each(coalesce(nullif(current_setting('${ATTEMPTS_SETTING}', true), ''), '{}')::jsonb);
`;

/** The views for a store in `schema`. */
export function postgresViews(schema: string): readonly View[] {
  return introspectionViews(postgresDialect(schema));
}

/** The statements that create the functions, the views and information_schema's views. */
export function setupStatements(schema: string): string {
  const views = postgresViews(schema);
  const out = [FUNCTIONS];
  for (const v of views) {
    const cols = v.columns.map((col) => `${col.sql} AS "${col.name}"`).join(',\n  ');
    out.push(`CREATE VIEW pg_temp."${v.name}" AS SELECT\n  ${cols}\nFROM ${v.from};`);
  }
  const columnRows = informationSchemaColumns(views).map(
    (r) => `('restate', 'public', ${sqlString(r.table_name)}, ${sqlString(r.column_name)}, ${r.ordinal_position}::bigint, ${sqlString(r.data_type)}, 'YES')`,
  );
  out.push(`CREATE VIEW pg_temp.information_schema_columns AS SELECT * FROM (VALUES ${columnRows.join(',\n')})
    AS t(table_catalog, table_schema, table_name, column_name, ordinal_position, data_type, is_nullable);`);
  const tableRows = views.map((v) => `('restate', 'public', ${sqlString(v.name)}, 'VIEW')`);
  out.push(`CREATE VIEW pg_temp.information_schema_tables AS SELECT * FROM (VALUES ${tableRows.join(',\n')})
    AS t(table_catalog, table_schema, table_name, table_type);`);
  return out.join('\n');
}
