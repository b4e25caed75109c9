// SQL functions registered on the introspection connection. Fields that live inside record
// bytes (invocation status, journal entries, promise results) are read through the store's
// record decoders and the protocol's message schemas, never by looking at the bytes here.

import { decodeMessage, MessageType, schemaForType } from '../../../protocol/index.ts';
import { parseInvocationId, partitionKeyOf } from '../../../types/index.ts';
import type { InvocationResult, InvocationStatus } from '../../../types/index.ts';
import type { QueryAttempt } from '../../query.ts';
import { entryTypeName } from '../../query-tables.ts';
import { decodeResult, decodeStatus } from '../../records.ts';
import type { SqliteDb } from '../db.ts';

type SqlValue = null | number | bigint | string | Uint8Array;

/** When the running query must stop (ms since the epoch); checked by every view row. */
let deadline = Number.POSITIVE_INFINITY;
/** Set once the deadline passed, so the error is reported as a timeout. */
let timedOut = false;

/** The invoker's attempts, by invocation id, as they stood when the query started. */
let attempts = new Map<string, QueryAttempt>();

/** Arms the time limit of the next query, takes its attempts, and clears the per-query caches. */
export function startQuery(timeoutMs: number, inFlight: readonly QueryAttempt[] = []): void {
  deadline = Date.now() + timeoutMs;
  attempts = new Map(inFlight.map((a) => [a.id, a]));
  timedOut = false;
  lastStatus = undefined;
  lastEntry = undefined;
}

/** Whether the last query was stopped by its time limit. */
export function queryTimedOut(): boolean {
  return timedOut;
}

const iso = (ms: number | bigint | undefined | null): string | null =>
  ms === undefined || ms === null ? null : new Date(Number(ms)).toISOString();

const utf8 = new TextDecoder('utf-8');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text; NULL when they are not UTF-8. */
function text(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

// One status record is read by many columns of the same row: decode it once.
let lastStatus: { id: string; modifiedAt: number; status: InvocationStatus } | undefined;

function status(id: string, modifiedAt: number, data: Uint8Array): InvocationStatus {
  if (lastStatus?.id !== id || lastStatus.modifiedAt !== modifiedAt) {
    lastStatus = { id, modifiedAt, status: decodeStatus(data) };
  }
  return lastStatus.status;
}

function failure(r: InvocationResult | undefined): Extract<InvocationResult, { ok: false }> | undefined {
  return r !== undefined && !r.ok ? r : undefined;
}

function statusField(s: InvocationStatus, field: string): SqlValue {
  switch (field) {
    case 'target_service_ty':
      return s.target.serviceType.toLowerCase();
    case 'pinned_deployment_id':
      return s.target.deploymentId;
    case 'completion_result':
      return s.phase !== 'completed' ? null : s.result?.ok === false ? 'failure' : 'success';
    case 'completion_failure': {
      const f = failure(s.result);
      return f ? `[${f.code}] ${f.message}` : null;
    }
    case 'completion_failure_code':
      return failure(s.result)?.code ?? null;
    case 'journal_size':
      return s.journalLength;
    case 'journal_commands_size':
      return s.commandCount;
    case 'invoked_by_id':
      return s.sinks.find((k) => k.kind === 'invocation')?.id ?? null;
    case 'invoked_by':
      return s.sinks.some((k) => k.kind === 'invocation') ? 'service' : 'ingress';
    default:
      throw new Error(`unknown invocation status field '${field}'`);
  }
}

let lastEntry: { id: string; index: number; message: Record<string, unknown> | undefined } | undefined;

function entry(id: string, index: number, type: number, body: Uint8Array): Record<string, unknown> | undefined {
  if (lastEntry?.id !== id || lastEntry.index !== index) {
    const schema = schemaForType(type);
    let message: Record<string, unknown> | undefined;
    try {
      message = schema ? (decodeMessage(schema, body) as unknown as Record<string, unknown>) : undefined;
    } catch {
      message = undefined;
    }
    lastEntry = { id, index, message };
  }
  return lastEntry.message;
}

function journalField(type: number, m: Record<string, unknown>, field: string): SqlValue {
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const num = (v: unknown): number | null => (typeof v === 'number' && v !== 0 ? v : null);
  switch (field) {
    case 'name':
      return str(m.name);
    case 'result_completion_id':
      return num(m.resultCompletionId);
    case 'invocation_id_notification_idx':
      return num(m.invocationIdNotificationIdx);
    case 'invocation_id':
      return type === MessageType.CallInvocationIdCompletionNotification ? str(m.invocationId) : null;
    case 'sleep_wakeup_at':
      return type === MessageType.SleepCommand && typeof m.wakeUpTime === 'bigint' ? iso(m.wakeUpTime) : null;
    case 'invoked_target': {
      if (type !== MessageType.CallCommand && type !== MessageType.OneWayCallCommand) return null;
      const key = str(m.key);
      return `${String(m.serviceName)}/${key !== null ? `${key}/` : ''}${String(m.handlerName)}`;
    }
    case 'promise_name':
      return type === MessageType.GetPromiseCommand ||
        type === MessageType.PeekPromiseCommand ||
        type === MessageType.CompletePromiseCommand
        ? str(m.key)
        : null;
    default:
      throw new Error(`unknown journal field '${field}'`);
  }
}

function attemptField(id: string, field: string): SqlValue {
  const a = attempts.get(id);
  if (a === undefined) return null;
  switch (field) {
    case 'status':
      return a.status;
    case 'retry_count':
      return a.retryCount;
    case 'last_start_at':
      return iso(a.lastStartAt);
    case 'next_retry_at':
      return iso(a.nextRetryAt);
    case 'last_failure':
      return a.lastFailure ?? null;
    case 'last_failure_error_code':
      return a.lastFailureCode !== undefined ? String(a.lastFailureCode) : null;
    default:
      throw new Error(`unknown attempt field '${field}'`);
  }
}

function resultField(bytes: Uint8Array | null, field: string): SqlValue {
  if (bytes === null) return null;
  const r = decodeResult(bytes);
  switch (field) {
    case 'value':
      return r.ok ? r.value : null;
    case 'value_utf8':
      return r.ok ? text(r.value) : null;
    case 'failure':
      return r.ok ? null : `[${r.code}] ${r.message}`;
    default:
      throw new Error(`unknown result field '${field}'`);
  }
}

/** A DataFusion `arrow_cast(value, 'Type')`: the value converted to the nearest SQLite type. */
function arrowCast(value: SqlValue, type: string): SqlValue {
  if (value === null) return null;
  const t = type.toLowerCase();
  if (/^u?int(8|16|32|64)$/.test(t)) return typeof value === 'string' ? Math.trunc(Number(value)) : typeof value === 'number' ? Math.trunc(value) : value;
  if (/^float(16|32|64)$/.test(t)) return Number(value);
  if (t === 'utf8' || t === 'largeutf8' || t === 'utf8view') return value instanceof Uint8Array ? utf8.decode(value) : String(value);
  return value;
}

/** Registers Endure's introspection functions on `db`. */
export function registerFunctions(db: SqliteDb): void {
  const opts = { deterministic: true, varargs: false } as const;
  // Every view row passes through here: a query past its deadline stops at the next row.
  db.function('restate_tick', { deterministic: false }, () => {
    if (Date.now() > deadline) {
      timedOut = true;
      throw new Error('query interrupted: time limit exceeded');
    }
    return 1;
  });
  db.function('restate_no_table', { deterministic: false }, (name: unknown) => {
    throw new Error(`no such table: ${String(name)}`);
  });
  db.function('restate_ts', opts, (ms: unknown) => iso(ms as number | null));
  db.function('restate_text', opts, (v: unknown) => (v instanceof Uint8Array ? text(v) : (v as SqlValue)));
  db.function('restate_partition_key', opts, (key: unknown) =>
    typeof key === 'string' ? BigInt.asIntN(64, partitionKeyOf(key)) : null,
  );
  db.function('restate_id_partition_key', opts, (id: unknown) => {
    try {
      return typeof id === 'string' ? BigInt.asIntN(64, parseInvocationId(id).partitionKey) : null;
    } catch {
      return null;
    }
  });
  db.function('restate_status', opts, (id: unknown, modifiedAt: unknown, data: unknown, field: unknown) =>
    statusField(status(id as string, modifiedAt as number, data as Uint8Array), field as string),
  );
  // Not deterministic: the answer changes from one query to the next.
  db.function('restate_attempt', { deterministic: false }, (id: unknown, field: unknown) => attemptField(id as string, field as string));
  db.function('restate_entry_type', opts, (type: unknown) => entryTypeName(type as number));
  db.function('restate_journal', opts, (id: unknown, index: unknown, type: unknown, body: unknown, field: unknown) => {
    const m = entry(id as string, index as number, type as number, body as Uint8Array);
    return m === undefined ? null : journalField(type as number, m, field as string);
  });
  db.function('restate_result', opts, (bytes: unknown, field: unknown) => resultField(bytes as Uint8Array | null, field as string));
  db.function('arrow_cast', opts, (value: unknown, type: unknown) => arrowCast(value as SqlValue, String(type)));
  db.function('now', { deterministic: false }, () => new Date().toISOString());
  // DataFusion's aggregate first_value(x ORDER BY …): SQLite hands the rows in that order.
  db.aggregate('restate_first_value', {
    start: () => ({ seen: false, value: null as unknown }),
    step: (acc: { seen: boolean; value: unknown }, value: unknown) => {
      if (!acc.seen) {
        acc.seen = true;
        acc.value = value;
      }
    },
    result: (acc: { seen: boolean; value: unknown }) => acc.value as SqlValue,
  });
}
