// Helpers shared by the semantics end-to-end tests: invocation status (SQL introspection on
// Restate, GET /invocations/{id} on Endure), admin requests, and steering test services.
import { appendFileSync } from "node:fs";
import { TARGET, adminUrlForInvocation, eventually, type HttpResult } from "../../harness/index.ts";

/** Restate's invocation status names. */
export type InvocationStatus =
  | "pending"
  | "scheduled"
  | "ready"
  | "running"
  | "suspended"
  | "backing-off"
  | "paused"
  | "completed";

/** Sends `method path` to the admin API with an optional JSON body and decodes the answer. */
export async function admin(adminUrl: string, method: string, path: string, body?: unknown): Promise<HttpResult> {
  // On a cluster (E2E_STORE=cluster), operations on one invocation go to its partition's leader.
  const invocation = /^\/invocations\/(inv_[^/?]+)/.exec(path)?.[1];
  if (invocation !== undefined) adminUrl = await adminUrlForInvocation(adminUrl, decodeURIComponent(invocation)).catch(() => adminUrl);
  const res = await fetch(adminUrl + path, {
    method,
    headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The status of invocation `id`, or undefined when the server does not know it (any more). */
export async function invocationStatus(adminUrl: string, id: string): Promise<InvocationStatus | undefined> {
  if (TARGET === "restate") {
    const res = await admin(adminUrl, "POST", "/query", { query: `SELECT id, status FROM sys_invocation WHERE id = '${id}'` });
    if (res.status !== 200) throw new Error(`query: ${res.status} ${res.text}`);
    const rows = (res.json as { rows: Array<{ status: InvocationStatus }> }).rows;
    return rows[0]?.status;
  }
  const res = await admin(adminUrl, "GET", `/invocations/${encodeURIComponent(id)}`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET /invocations/${id}: ${res.status} ${res.text}`);
  return (res.json as { status: InvocationStatus }).status;
}

/** Waits until invocation `id` has `status`. */
export async function waitForStatus(adminUrl: string, id: string, status: InvocationStatus, timeoutMs = 15_000): Promise<void> {
  let last: InvocationStatus | undefined;
  await eventually(
    async () => {
      last = await invocationStatus(adminUrl, id);
      return last === status ? true : undefined;
    },
    timeoutMs,
    `invocation ${id} to be ${status} (last seen: ${String(last)})`,
  );
}

/** Appends an effect line from the test process (the services read "fix" lines to change course). */
export function appendEffect(effectsFile: string, kind: string, id: string): void {
  appendFileSync(effectsFile, `${JSON.stringify({ kind, id, t: Date.now() })}\n`);
}

/** The invocation id from a `/send` answer. */
export function invocationIdOf(res: HttpResult): string {
  const id = (res.json as { invocationId?: string } | undefined)?.invocationId;
  if (typeof id !== "string") throw new Error(`no invocationId in ${res.status} ${res.text}`);
  return id;
}

/** Server settings that make retention expiry observable within a test (cleaner every second). */
export const FAST_CLEANUP_ENV: Record<string, string> = {
  ENDURE_CLEANUP_INTERVAL: "1s",
  RESTATE_WORKER__CLEANUP_INTERVAL: "1s",
};
