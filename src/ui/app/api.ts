// Every call the UI makes, typed, in one place: the admin API's own routes and `POST /query`.
// The UI keeps no data of its own; what it shows is what these calls answered a moment ago.

/** An answer the server refused, with Restate's `{code, message}` body when there was one. */
export class ApiError extends Error {
  /** HTTP status of the answer; 0 when the server could not be reached. */
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const TOKEN_KEY = 'endure.adminToken';

/** The bearer token the user pasted, kept for this browser tab only. */
export function adminToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Remembers (or, with an empty string, forgets) the bearer token sent with every call. */
export function setAdminToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = adminToken();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new ApiError(0, `cannot reach the admin API: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const message =
      parsed !== null && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string'
        ? (parsed as { message: string }).message
        : text || res.statusText;
    throw new ApiError(res.status, message);
  }
  return parsed as T;
}

/** A handler of a service, as `GET /services` describes it. */
export interface Handler {
  name: string;
  ty?: string;
}

/** A service, as `GET /services` describes it. */
export interface Service {
  name: string;
  ty: 'Service' | 'VirtualObject' | 'Workflow';
  handlers: Handler[];
  deployment_id: string;
  revision: number;
}

/** A deployment, as `GET /deployments` describes it. */
export interface Deployment {
  id: string;
  uri?: string;
  sdk_version?: string;
  created_at?: string;
  services: { name: string; revision: number }[];
}

/** `GET /services`. */
export async function listServices(): Promise<Service[]> {
  return (await request<{ services: Service[] }>('GET', '/services')).services;
}

/** `GET /deployments`. */
export async function listDeployments(): Promise<Deployment[]> {
  return (await request<{ deployments: Deployment[] }>('GET', '/deployments')).deployments;
}

/** One row of a `/query` answer: NULL columns are absent, times are RFC 3339, bytes are hex. */
export type Row = Record<string, string | number | boolean | undefined>;

/** `POST /query` with a JSON answer. */
export async function query(sql: string): Promise<Row[]> {
  return (await request<{ rows: Row[] }>('POST', '/query', { query: sql })).rows;
}

/** A string as an SQL literal. */
export function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The operations the admin API offers on one invocation. */
export const INVOCATION_OPS = ['cancel', 'kill', 'pause', 'resume', 'restart-as-new', 'purge'] as const;
/** One of {@link INVOCATION_OPS}. */
export type InvocationOp = (typeof INVOCATION_OPS)[number];

/** `PATCH /invocations/{id}/{op}`; restart-as-new answers the new invocation's id. */
export async function invocationOp(id: string, op: InvocationOp): Promise<{ new_invocation_id?: string } | undefined> {
  return request('PATCH', `/invocations/${encodeURIComponent(id)}/${op}`);
}

/** Bytes from the lowercase hex `/query` answers for binary columns. */
export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/**
 * The version of a key's state as the admin API computes it (SHA-256 over the entries sorted
 * by key, each framed by its position and separator bytes, base64url): sent with an edit so the
 * server refuses it when the state changed since it was read. Undefined where the browser has
 * no WebCrypto (pages served over plain HTTP from another host); the edit is then unconditional.
 */
export async function stateVersion(entries: readonly (readonly [Uint8Array, Uint8Array])[]): Promise<string | undefined> {
  if (globalThis.crypto?.subtle === undefined) return undefined;
  const sorted = [...entries].sort((x, y) => compareBytes(x[0], y[0]));
  const parts: number[] = [];
  sorted.forEach(([key, value], i) => {
    const position = new DataView(new ArrayBuffer(8));
    position.setBigUint64(0, BigInt(i));
    parts.push(...new Uint8Array(position.buffer), 1, ...key, 2, ...value, 3);
  });
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', Uint8Array.from(parts)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * `POST /services/{service}/state`: replaces the whole state of one key. With `version`, the
 * server refuses the change (409) when the state is no longer the one that version describes.
 */
export async function replaceState(
  service: string,
  key: string,
  entries: readonly (readonly [string, Uint8Array])[],
  version: string | undefined,
): Promise<void> {
  const newState: Record<string, number[]> = {};
  for (const [name, value] of entries) newState[name] = [...value];
  await request('POST', `/services/${encodeURIComponent(service)}/state`, {
    object_key: key,
    new_state: newState,
    ...(version !== undefined ? { version } : {}),
  });
}
