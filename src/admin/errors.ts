import { MetadataError } from '../metadata/index.ts';
import { StoreUnavailableError } from '../store/index.ts';
import { NOT_LEADER_HEADER, NotLeaderError } from '../types/index.ts';
import { json } from './http.ts';
import type { AdminResponse } from './http.ts';

/** Stable codes of admin API errors raised outside the schema registry. */
export const AdminErrorCode = {
  InvalidField: 'INVALID_FIELD',
  InvalidBody: 'INVALID_BODY',
  BodyTooLarge: 'BODY_TOO_LARGE',
  NotFound: 'NOT_FOUND',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  NotImplemented: 'NOT_IMPLEMENTED',
  UnsupportedApiVersion: 'UNSUPPORTED_API_VERSION',
  DiscoveryFailed: 'DISCOVERY_FAILED',
  Conflict: 'CONFLICT',
  InvalidQuery: 'INVALID_QUERY',
  Internal: 'INTERNAL',
} as const;
/** An admin error code. */
export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

/** An admin API error with its HTTP status and, where Restate documents one, its restate code. */
export class AdminError extends Error {
  constructor(
    readonly code: AdminErrorCode,
    readonly status: number,
    message: string,
    readonly restateCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AdminError';
  }
}

/** Restate's message for an invalid request field. */
export function invalidField(field: string, reason: string): AdminError {
  return new AdminError(AdminErrorCode.InvalidField, 400, `The request field '${field}' is invalid. Reason: ${reason}`);
}

/** A 404 with Restate's wording. */
export function notFound(message: string): AdminError {
  return new AdminError(AdminErrorCode.NotFound, 404, message);
}

/**
 * The error body: Restate's `{message, restate_code}` (the code, e.g. META0006, or null), plus
 * `code`, the HTTP status, as the ingress answers. Restate's CLI reads `message` and
 * `restate_code` and ignores the rest.
 */
export function errorBody(status: number, message: string, restateCode?: string): Record<string, unknown> {
  return { code: status, message, restate_code: restateCode ?? null };
}

/** The response for an error thrown by a route: its status and {@link errorBody}. */
export function errorResponse(err: unknown): AdminResponse {
  if (err instanceof AdminError || err instanceof MetadataError) {
    return json(err.status, errorBody(err.status, err.message, err.restateCode));
  }
  if (err instanceof StoreUnavailableError) return json(503, { code: 503, message: err.message });
  // Nothing was appended: a cluster node's forwarding layer sends the request on to the leader.
  if (err instanceof NotLeaderError) return json(503, errorBody(503, err.message), { [NOT_LEADER_HEADER]: String(err.partition) });
  const message = err instanceof Error ? err.message : String(err);
  return json(500, errorBody(500, `Internal server error: ${message}`));
}
