/**
 * The byte encoding of the records the store keeps besides the log: invocation status, timer
 * payloads and workflow promises. Every backend stores exactly these bytes, so a record written
 * by one backend (or one version of Endure) reads the same on another.
 */
import { deserialize, serialize } from 'node:v8';
import type { InvocationResult, InvocationStatus, TimerPayload } from '../worker/model.ts';
import type { PromiseRecord } from './partition.ts';

/** Bytes of an invocation status record. */
export function encodeStatus(status: InvocationStatus): Uint8Array {
  return serialize(status);
}

/** Inverse of encodeStatus. */
export function decodeStatus(bytes: Uint8Array): InvocationStatus {
  return deserialize(bytes) as InvocationStatus;
}

/** Bytes of a timer's payload. */
export function encodeTimerPayload(payload: TimerPayload): Uint8Array {
  return serialize(payload);
}

/** Inverse of encodeTimerPayload. */
export function decodeTimerPayload(bytes: Uint8Array): TimerPayload {
  return deserialize(bytes) as TimerPayload;
}

/** Bytes of a completed promise's result. */
export function encodeResult(result: InvocationResult): Uint8Array {
  return serialize(result);
}

/** Inverse of encodeResult. */
export function decodeResult(bytes: Uint8Array): InvocationResult {
  return deserialize(bytes) as InvocationResult;
}

/** Bytes of the list of invocations waiting on a promise. */
export function encodeWaiters(waiters: PromiseRecord['waiters']): Uint8Array {
  return serialize(waiters);
}

/** Inverse of encodeWaiters. */
export function decodeWaiters(bytes: Uint8Array): PromiseRecord['waiters'] {
  return deserialize(bytes) as PromiseRecord['waiters'];
}
