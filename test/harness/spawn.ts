// The parts of a test server process that a single server and a cluster of them share: the
// options and handle types, free ports, spawning Endure (or Restate's server with
// E2E_SERVER=restate), and waiting until it is healthy.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";
import { ManagedProcess, sleep } from "./processes.ts";


/** Repository root (where bin/endure.js lives). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Options for {@link startEndure}. */
export interface EndureOptions {
  /** Data directory; a fresh temp directory (removed by stop()) when absent. */
  dataDir?: string;
  /** Extra environment variables (ENDURE_* settings). */
  env?: Record<string, string>;
  /** Number of partitions. */
  partitions?: number;
  /** How long to wait for health, in ms (default 30 s). */
  startTimeoutMs?: number;
}

/** A running server under test. */
export interface EndureProcess {
  readonly ingressUrl: string;
  readonly adminUrl: string;
  readonly dataDir: string;
  /** PID of the current server process (changes on restart). */
  readonly pid: number;
  /** Captured output of the current and previous server processes. */
  readonly log: string;
  /** Sends `signal` (default SIGKILL) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same data directory and ports, and waits for health. */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes the temp data directory it created. */
  stop(): Promise<void>;
}

/** Which server the end-to-end tests target. */
export const TARGET: "endure" | "restate" = process.env.E2E_SERVER === "restate" ? "restate" : "endure";

/** Where Endure servers started by the tests keep their data. */
export const STORE: "sqlite" | "postgres" | "cluster" =
  process.env.E2E_STORE === "postgres" ? "postgres" : process.env.E2E_STORE === "cluster" ? "cluster" : "sqlite";

/** The ports one server listens on. */
export interface Ports {
  ingress: number;
  admin: number;
  fabric: number;
}

/** Three ports that were free a moment ago. */
export async function freePorts(): Promise<Ports> {
  return { ingress: await freePort(), admin: await freePort(), fabric: await freePort() };
}

/** Starts one server process (Endure, or Restate's with E2E_SERVER=restate); does not wait. */
export function spawnServer(dataDir: string, ports: Ports, opts: EndureOptions): ManagedProcess {
  if (TARGET === "restate") return spawnRestate(dataDir, ports, opts);
  const args = [
    path.join(REPO_ROOT, "bin", "endure.js"),
    "server",
    "--data-dir",
    dataDir,
    "--ingress-bind",
    `127.0.0.1:${ports.ingress}`,
    "--admin-bind",
    `127.0.0.1:${ports.admin}`,
    "--log-level",
    process.env.E2E_LOG_LEVEL ?? "warn",
  ];
  if (opts.partitions !== undefined) args.push("--partitions", String(opts.partitions));
  return new ManagedProcess("endure", process.execPath, args, { ...process.env, ...opts.env }, REPO_ROOT);
}

/** ENDURE_* settings and their Restate equivalents (durations and sizes keep their text). */
const RESTATE_EQUIVALENTS: Record<string, string> = {
  ENDURE_INACTIVITY_TIMEOUT: "RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT",
  ENDURE_ABORT_TIMEOUT: "RESTATE_WORKER__INVOKER__ABORT_TIMEOUT",
  ENDURE_EAGER_STATE_MAX_BYTES: "RESTATE_WORKER__INVOKER__EAGER_STATE_SIZE_LIMIT",
  ENDURE_INGRESS_MAX_BODY_BYTES: "RESTATE_INGRESS__REQUEST_SIZE_LIMIT",
};

function spawnRestate(dataDir: string, ports: Ports, opts: EndureOptions): ManagedProcess {
  const bin = process.env.RESTATE_SERVER_BIN;
  if (!bin) throw new Error("E2E_SERVER=restate needs RESTATE_SERVER_BIN (path to restate-server)");
  const env: Record<string, string | undefined> = {
    ...process.env,
    RESTATE_DISABLE_TELEMETRY: "true",
    RESTATE_BASE_DIR: dataDir,
    RESTATE_NODE_NAME: "e2e",
    RESTATE_LISTEN_MODE: "tcp",
    RESTATE_BIND_ADDRESS: `127.0.0.1:${ports.fabric}`,
    RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${ports.fabric}`,
    RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ports.ingress}`,
    RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${ports.admin}`,
    RESTATE_LOG_FILTER: "warn",
  };
  if (opts.partitions !== undefined) env.RESTATE_DEFAULT_NUM_PARTITIONS = String(opts.partitions);
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    const mapped = RESTATE_EQUIVALENTS[key];
    if (mapped) env[mapped] = /^\d+$/.test(value) && !key.endsWith("_BYTES") ? `${value}ms` : value;
    else env[key] = value;
  }
  return new ManagedProcess("restate-server", bin, ["--no-logo"], env, dataDir);
}

/** Waits until `proc` answers on its admin and ingress health endpoints; kills it on timeout. */
export async function waitHealthy(proc: ManagedProcess, ingressUrl: string, adminUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const healthy = async (url: string): Promise<boolean> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  };
  for (;;) {
    if (proc.hasExited) throw new Error(`server exited during start-up:\n${proc.tail()}`);
    if ((await healthy(`${adminUrl}/health`)) && (await healthy(`${ingressUrl}/restate/health`))) return;
    if (Date.now() > deadline) {
      await proc.kill("SIGKILL");
      throw new Error(`server not healthy within ${timeoutMs} ms:\n${proc.tail()}`);
    }
    await sleep(100);
  }
}
