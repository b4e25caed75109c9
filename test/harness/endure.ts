// Starts an Endure server process for a test file: free loopback ports, a temp data
// directory, captured output, health checks. With E2E_SERVER=restate the same interface
// drives Restate's own server (binary from RESTATE_SERVER_BIN) to check that the tests
// encode Restate's behaviour. With E2E_STORE=postgres every server stores its data in a fresh
// database on the machine's PostgreSQL (dropped by stop()) instead of SQLite. With
// E2E_STORE=cluster every server is three cluster nodes on one fresh database (see cluster.ts).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startCluster } from "./cluster.ts";
import { freePort } from "./ports.ts";
import { createTestDatabase, type TestDatabase } from "./postgres.ts";
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

/** Starts a server and waits until its ingress and admin endpoints report healthy. */
export async function startEndure(opts: EndureOptions = {}): Promise<EndureProcess> {
  if (TARGET === "endure" && STORE === "cluster") return startCluster(opts);
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "endure-e2e-")));
  let ports: Ports = await freePorts();
  let ingressUrl = `http://127.0.0.1:${ports.ingress}`;
  let adminUrl = `http://127.0.0.1:${ports.admin}`;
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const database = TARGET === "endure" && STORE === "postgres" ? await createTestDatabase() : undefined;
  const serverOpts: EndureOptions = database ? { ...opts, env: { ENDURE_STORE: database.url, ...opts.env } } : opts;

  let previousLogs = "";
  let proc = spawnServer(dataDir, ports, serverOpts);
  // A port found free can be taken by another process before the server binds it (other test
  // files start servers at the same time): start again on fresh ports when that happened.
  for (let attempt = 1; ; attempt++) {
    try {
      await waitHealthy(proc, ingressUrl, adminUrl, timeoutMs);
      break;
    } catch (err) {
      if (attempt < 3 && proc.hasExited && proc.log.includes("EADDRINUSE")) {
        previousLogs += proc.log;
        ports = await freePorts();
        ingressUrl = `http://127.0.0.1:${ports.ingress}`;
        adminUrl = `http://127.0.0.1:${ports.admin}`;
        proc = spawnServer(dataDir, ports, serverOpts);
        continue;
      }
      await database?.drop();
      throw err;
    }
  }

  return {
    ingressUrl,
    adminUrl,
    dataDir,
    get pid() {
      return proc.pid;
    },
    get log() {
      return previousLogs + proc.log;
    },
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      await proc.kill(signal);
    },
    async restart() {
      await proc.kill("SIGTERM");
      previousLogs += proc.log;
      proc = spawnServer(dataDir, ports, serverOpts);
      await waitHealthy(proc, ingressUrl, adminUrl, timeoutMs);
    },
    async stop() {
      await proc.kill("SIGTERM");
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
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
