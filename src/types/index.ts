/**
 * Identifiers and records shared by every module: invocation ids (which carry their partition
 * key), the small value types that travel inside log commands, and the partition records
 * themselves (commands, invocation status, timers, actions). Pure data and pure functions; no I/O,
 * and no imports from the modules that use them (only the plain rule and schedule shapes of
 * flow/model.ts and schedule/model.ts), so that log/ and store/ can depend on it.
 */
export {
  type InvocationId,
  IdDecodeError,
  formatInvocationId,
  parseInvocationId,
  invocationIdToBytes,
  invocationIdFromBytes,
  partitionKeyOf,
  newInvocationId,
  deriveInvocationId,
  workflowRunId,
  idempotentInvocationId,
} from './ids.ts';
export { parseAwakeableId } from './awakeable.ts';
export { stateVersion } from './state-version.ts';
export type * from './records.ts';
export { NotLeaderError, NOT_LEADER_HEADER } from './leadership.ts';
