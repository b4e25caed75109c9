import { AdminError, AdminErrorCode, invalidField } from './errors.ts';

/** Parses a JSON object body; 400 when it is not one. */
export function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw new AdminError(AdminErrorCode.InvalidBody, 400, `Invalid JSON body: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AdminError(AdminErrorCode.InvalidBody, 400, 'Invalid JSON body: expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** An optional boolean field. */
export function optionalBool(obj: Record<string, unknown>, field: string): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidField(field, `expected a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** An optional map of strings (headers, metadata). */
export function optionalStringMap(obj: Record<string, unknown>, field: string): Record<string, string> | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidField(field, 'expected an object of strings');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalidField(field, `value of '${k}' must be a string`);
    out[k] = val;
  }
  return out;
}

/** An optional boolean query parameter (`true`/`false`). */
export function queryBool(query: URLSearchParams, name: string): boolean | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new AdminError(
    AdminErrorCode.InvalidField,
    400,
    `The query parameter '${name}' is invalid. Reason: expected true or false, got ${JSON.stringify(v)}`,
  );
}
