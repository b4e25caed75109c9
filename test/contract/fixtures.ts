// Shared fixtures of the storage contract suites: record builders and byte helpers. Nothing
// here knows a backend; every suite receives its store from a factory.
import type { InvocationStatus, ResolvedTarget } from '../../src/worker/index.ts';

/** What a contract suite needs from a backend: a fresh, empty store and a way to release it. */
export interface Opened<S> {
  store: S;
  close(): Promise<void>;
}

/** Bytes as lowercase hex, so comparisons ignore whether a backend returns Buffer or Uint8Array. */
export function hex(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A byte string from numbers. */
export function b(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/** A byte string from UTF-8 text. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Bytes that are not valid UTF-8 (lone continuation byte, overlong form, 0xff) plus a NUL. */
export const NON_UTF8 = b(0x80, 0xc0, 0xaf, 0xff, 0xfe, 0x00, 0xed, 0xa0, 0x80);

/**
 * Replaces every Uint8Array (Buffer included) by `{ hex }`, recursively, keeping undefined
 * fields as they are: two records compare equal exactly when their data and bytes are equal.
 */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { hex: hex(value) };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

/** A resolved target of a virtual object's exclusive handler. */
export function objectTarget(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    service: 'Counter',
    handler: 'add',
    key: 'alice',
    serviceType: 'VIRTUAL_OBJECT',
    handlerType: 'EXCLUSIVE',
    deploymentId: 'dp_1',
    retentionMs: 86_400_000,
    ...overrides,
  };
}

/** A minimal status: every optional field undefined. */
export function bareStatus(id: string, overrides: Partial<InvocationStatus> = {}): InvocationStatus {
  return {
    id,
    partition: 3,
    phase: 'invoked',
    target: objectTarget({ service: 'Greeter', handler: 'greet', key: undefined, serviceType: 'SERVICE', handlerType: undefined }),
    idempotencyKey: undefined,
    createdAt: 1_700_000_000_000,
    modifiedAt: 1_700_000_000_001,
    completedAt: undefined,
    journalLength: 1,
    commandCount: 1,
    waiting: undefined,
    sinks: [],
    result: undefined,
    ...overrides,
  };
}

/** A status with every field populated, bytes included. */
export function fullStatus(id: string, overrides: Partial<InvocationStatus> = {}): InvocationStatus {
  return {
    id,
    partition: 7,
    phase: 'completed',
    target: objectTarget(),
    idempotencyKey: 'idem-é-✓',
    createdAt: 1_700_000_000_000,
    modifiedAt: 1_700_000_000_500,
    completedAt: 1_700_000_001_000,
    journalLength: 9,
    commandCount: 5,
    waiting: { completions: [1, 4], signals: [17], namedSignals: ['approved', ''] },
    sinks: [
      { kind: 'ingress', node: 'node-1', requestId: 42 },
      { kind: 'invocation', id: 'inv_caller', partition: 2, completionId: 3 },
      { kind: 'invocation', id: 'inv_attacher', partition: 5, completionId: 8, notificationType: 0x8012 },
    ],
    result: { ok: true, value: NON_UTF8 },
    ...overrides,
  };
}
