// Small fetch helpers for the ingress and admin APIs.
import net from "node:net";
import { awaitDeploymentOnAllNodes } from "./cluster.ts";

/** A decoded HTTP answer. */
export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

/** Options for {@link call}. */
export interface CallOptions {
  method?: string;
  /** Raw body, sent as-is (overrides `body`). */
  raw?: string;
  timeoutMs?: number;
}

/**
 * POSTs `body` (JSON-encoded unless undefined) to `ingressUrl + path` and decodes the answer.
 * Network failures reject (so crash tests can tell "server died" from an HTTP error).
 */
export async function call(
  ingressUrl: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  options: CallOptions = {},
): Promise<HttpResult> {
  const hasBody = options.raw !== undefined || body !== undefined;
  const res = await fetch(ingressUrl + path, {
    method: options.method ?? "POST",
    headers: hasBody ? { "content-type": "application/json", ...headers } : headers,
    body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  return decode(res);
}

/** GETs `url` and decodes the answer. */
export async function get(url: string, timeoutMs = 30_000): Promise<HttpResult> {
  return decode(await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }));
}

async function decode(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A registered deployment as returned by the admin API. */
export interface Deployment {
  id: string;
  services: Array<{ name: string; handlers?: Array<{ name: string }> }>;
}

/**
 * Registers a service deployment through the admin API; throws unless the answer is 201. On a
 * cluster (E2E_STORE=cluster) it returns once every node serves the new deployment.
 */
export async function register(adminUrl: string, serviceUrl: string): Promise<Deployment> {
  const res = await fetch(`${adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri: serviceUrl }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`register ${serviceUrl}: ${res.status} ${text}`);
  const deployment = JSON.parse(text) as Deployment;
  await awaitDeploymentOnAllNodes(adminUrl, deployment.id, deployment.services.map((s) => s.name));
  return deployment;
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends headers with `Expect: 100-continue` and no body; returns what came back within `ms`. */
export function expectContinue(url: string, head: string, ms = 1500): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let received = "";
    const socket = net.connect(Number(port), hostname, () => socket.write(`${head}Expect: 100-continue\r\n\r\n`));
    socket.on("data", (b: Buffer) => (received += b.toString("latin1")));
    socket.on("error", () => undefined);
    const done = () => {
      socket.destroy();
      resolve(received);
    };
    socket.on("close", done);
    setTimeout(done, ms).unref();
  });
}
