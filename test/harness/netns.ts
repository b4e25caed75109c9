// A network namespace of its own for a test that runs a program that would reach the
// internet (the official `restate` CLI checks for updates and sends telemetry): Endure, the
// services and the program all run inside it, where only loopback exists. The test talks to
// them through netns-runner.ts over stdin/stdout.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import readline from "node:readline";
import { REPO_ROOT } from "./endure.ts";

/** What a CLI run printed. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** An HTTP answer from inside the namespace. */
export interface NsHttp {
  status: number;
  contentType: string | null;
  text: string;
}

/** Endure, the CLI test services and the `restate` CLI, in one network namespace. */
export interface CliNamespace {
  readonly adminUrl: string;
  readonly ingressUrl: string;
  readonly servicesUrl: string;
  restate(...args: string[]): Promise<CliRun>;
  endure(...args: string[]): Promise<CliRun>;
  http(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<NsHttp>;
  stop(): Promise<void>;
}

/** Whether this machine lets us create a network namespace (root, or user namespaces). */
export function canUnshareNetwork(): boolean {
  const r = spawnSync("unshare", ["-n", "true"], { stdio: "ignore" });
  return r.status === 0;
}

/** Starts the runner in a new network namespace and waits until Endure and the services are up. */
export async function startCliNamespace(timeoutMs = 60_000): Promise<CliNamespace> {
  const child: ChildProcessWithoutNullStreams = spawn(
    "unshare",
    ["--net", "--fork", "--kill-child", "sh", "-c", 'ip link set lo up && exec "$0" --import tsx test/harness/netns-runner.ts', process.execPath],
    { cwd: REPO_ROOT, env: process.env, stdio: ["pipe", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const pending = new Map<number, (msg: { ok: boolean; value?: unknown; error?: string }) => void>();
  let nextId = 1;
  const ready = new Promise<{ adminUrl: string; ingressUrl: string; servicesUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`namespace runner not ready within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`namespace runner exited (${code}):\n${stderr}`));
    });
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      let msg: { ready?: boolean; id?: number; ok: boolean; value?: unknown; error?: string; adminUrl?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return; // a line of log output, not an answer
      }
      if (msg.ready) {
        clearTimeout(timer);
        resolve(msg as unknown as { adminUrl: string; ingressUrl: string; servicesUrl: string });
      } else if (msg.id !== undefined) {
        pending.get(msg.id)?.(msg);
        pending.delete(msg.id);
      }
    });
  });
  const urls = await ready;

  const ask = <T>(req: Record<string, unknown>): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (msg) => (msg.ok ? resolve(msg.value as T) : reject(new Error(msg.error))));
      child.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });

  return {
    ...urls,
    restate: (...args) => ask<CliRun>({ op: "restate", args }),
    endure: (...args) => ask<CliRun>({ op: "endure", args }),
    http: (method, url, body, headers = {}) =>
      ask<NsHttp>({
        op: "http",
        method,
        url,
        ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
        headers: body !== undefined ? { "content-type": "application/json", ...headers } : headers,
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin.end();
      }),
  };
}
