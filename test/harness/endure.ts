// Starts an Endure server process for a test file: free loopback ports, a temp data
// directory, captured output, health checks. With E2E_SERVER=restate the same interface
// drives Restate's own server (binary from RESTATE_SERVER_BIN) to check that the tests
// encode Restate's behaviour. With E2E_STORE=postgres every server stores its data in a fresh
// database on the machine's PostgreSQL (dropped by stop()) instead of SQLite. With
// E2E_STORE=cluster every server is three cluster nodes on one fresh database (see cluster.ts).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startCluster } from "./cluster.ts";
import { createTestDatabase } from "./postgres.ts";
import { freePorts, spawnServer, STORE, TARGET, waitHealthy, type EndureOptions, type EndureProcess, type Ports } from "./spawn.ts";

export { freePorts, REPO_ROOT, spawnServer, STORE, TARGET, waitHealthy, type EndureOptions, type EndureProcess, type Ports } from "./spawn.ts";

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

