// Transport-free request/response types of the admin API and the helpers to build answers.

/** A request as the admin core sees it (no socket: tests and embedded mode call it directly). */
export interface AdminRequest {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  body: Uint8Array;
}

/** A response of the admin core. */
export interface AdminResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** The admin API as a function. */
export type AdminHandler = (req: AdminRequest) => Promise<AdminResponse>;

/** A JSON response. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): AdminResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

/** An empty response. */
export function empty(status: number, headers: Record<string, string> = {}): AdminResponse {
  return { status, headers, body: '' };
}
