// A journal as a timeline: the rows `sys_journal` answers, with the result each entry holds
// read from its raw bytes through the protocol's own message schemas (the ones the server
// decodes with), so the UI has no second idea of what an entry means.
import { fromBinary } from '@bufbuild/protobuf';
import { MessageType } from '../../protocol/framing.ts';
import { schemaForType } from '../../protocol/messages.ts';
import { hexToBytes, type Row } from './api.ts';

/** A result carried by an entry: a value (as text when it is UTF-8) or a failure. */
export type EntryResult = { ok: true; text: string } | { ok: false; code: number; message: string };

/** One row of the timeline. */
export interface TimelineEntry {
  index: number;
  /** Restate's entry type name: `Run`, `Sleep`, `Call`, `RunCompletionNotification`, … */
  type: string;
  /** `command` or `notification` (results, signals, awakeable completions). */
  category: 'command' | 'notification';
  name: string | undefined;
  /** Whether a command's result has arrived; undefined for commands without one. */
  completed: boolean | undefined;
  /** The invocation a call or send created. */
  invokedId: string | undefined;
  invokedTarget: string | undefined;
  sleepWakeUpAt: string | undefined;
  promiseName: string | undefined;
  /** The completion id a command waits on, or a notification completes. */
  completionId: number | undefined;
  /** The signal id of a signal notification (awakeables are signals with ids ≥ 17). */
  signalId: number | string | undefined;
  result: EntryResult | undefined;
  /** The result of this command, taken from the notification that completed it. */
  completedBy: TimelineEntry | undefined;
  /** For a notification: the index of the command it completes (shown with that command). */
  completes: number | undefined;
  /** For a call or send: the completion id that carries the new invocation's id. */
  invocationIdCompletion: number | undefined;
}

const strict = new TextDecoder('utf-8', { fatal: true });

function valueText(bytes: Uint8Array): string {
  if (bytes.length === 0) return '(empty)';
  try {
    return strict.decode(bytes);
  } catch {
    return `(${bytes.length} bytes, not UTF-8)`;
  }
}

/** The message type number of an entry type name, when the name tells it unambiguously. */
function typeNumber(entryType: string): number | undefined {
  const table = MessageType as Record<string, number>;
  return table[entryType] ?? table[`${entryType}Command`] ?? table[`${entryType.replace(/^Get/, 'GetEager')}Command`];
}

type Decoded = Record<string, unknown>;

function decode(entryType: string, rawHex: string | undefined): Decoded | undefined {
  const type = typeNumber(entryType);
  if (type === undefined || rawHex === undefined) return undefined;
  const schema = schemaForType(type);
  if (schema === undefined) return undefined;
  try {
    return fromBinary(schema, hexToBytes(rawHex)) as unknown as Decoded;
  } catch {
    return undefined;
  }
}

function resultOf(m: Decoded): EntryResult | undefined {
  const r = m.result as { case?: string; value?: unknown } | undefined;
  if (r?.case === 'value') return { ok: true, text: valueText((r.value as { content: Uint8Array }).content) };
  if (r?.case === 'failure') {
    const f = r.value as { code: number; message: string };
    return { ok: false, code: f.code, message: f.message };
  }
  if (r?.case === 'invocationId') return { ok: true, text: String(r.value) };
  if (r?.case === 'void') return { ok: true, text: '(done)' };
  const v = m.value as { content?: unknown } | undefined;
  if (v !== undefined && v.content instanceof Uint8Array) return { ok: true, text: valueText(v.content) };
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Builds the timeline from `sys_journal` rows (in index order), pairing results with commands. */
export function buildTimeline(rows: Row[]): TimelineEntry[] {
  const entries = rows.map((row): TimelineEntry => {
    const type = String(row.entry_type ?? 'unknown');
    const m = decode(type, row.raw as string | undefined);
    const notification = /Notification$/.test(type);
    const signal = m?.signalId as { case?: string; value?: unknown } | undefined;
    return {
      index: Number(row.index),
      type,
      category: notification ? 'notification' : 'command',
      name: str(row.name) ?? str(m?.name),
      completed: typeof row.completed === 'boolean' ? row.completed : undefined,
      invokedId: str(row.invoked_id),
      invokedTarget: str(row.invoked_target),
      sleepWakeUpAt: str(row.sleep_wakeup_at),
      promiseName: str(row.promise_name),
      completionId:
        typeof m?.completionId === 'number' && notification
          ? m.completionId
          : typeof m?.resultCompletionId === 'number' && m.resultCompletionId !== 0
            ? m.resultCompletionId
            : undefined,
      signalId: signal?.case !== undefined ? (signal.value as number | string) : undefined,
      result: m !== undefined ? resultOf(m) : undefined,
      completedBy: undefined,
      completes: undefined,
      invocationIdCompletion:
        typeof m?.invocationIdNotificationIdx === 'number' && m.invocationIdNotificationIdx !== 0 ? m.invocationIdNotificationIdx : undefined,
    };
  });
  const results = new Map<number, TimelineEntry>();
  const invocationIds = new Map<number, TimelineEntry>();
  for (const e of entries) {
    if (e.category !== 'notification' || e.completionId === undefined) continue;
    (e.type === 'CallInvocationIdCompletionNotification' ? invocationIds : results).set(e.completionId, e);
  }
  for (const e of entries) {
    if (e.category !== 'command') continue;
    if (e.completionId !== undefined) {
      e.completedBy = results.get(e.completionId);
      if (e.completedBy !== undefined) e.completedBy.completes = e.index;
    }
    const idNotification = e.invocationIdCompletion !== undefined ? invocationIds.get(e.invocationIdCompletion) : undefined;
    if (idNotification !== undefined) idNotification.completes = e.index;
  }
  return entries;
}
