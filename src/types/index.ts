/**
 * Identifiers shared by every module: invocation ids (which carry their partition key) and the
 * small value types that travel inside log commands. Pure data and pure functions; no I/O.
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
