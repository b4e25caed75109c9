import { MetadataError } from '../metadata/index.ts';
import { StoreUnavailableError } from '../store/index.ts';
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
 * The error body: `{code, message}` with the HTTP status as code (like the ingress), plus
 * Restate's `restate_code` (e.g. META0006) where one applies.
 */
export function errorResponse(err: unknown): AdminResponse {
  if (err instanceof AdminError || err instanceof MetadataError) {
    const body: Record<string, unknown> = { code: err.status, message: err.message };
    if (err.restateCode !== undefined) body.restate_code = err.restateCode;
    return json(err.status, body);
  }
  if (err instanceof StoreUnavailableError) return json(503, { code: 503, message: err.message });
  const message = err instanceof Error ? err.message : String(err);
  return json(500, { code: 500, message: `Internal server error: ${message}` });
}
