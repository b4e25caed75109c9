// Starting, killing and restarting the two servers under test and the SDK service process.
// Everything binds 127.0.0.1; each server gets a fresh temp data directory per run.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = path.resolve(BENCH_DIR, "..");
const require = createRequire(path.join(BENCH_DIR, "package.json"));

/** Path of the restate-server binary installed in bench/node_modules. */
export function restateBinary() {
  return require.resolve(`@restatedev/restate-server-${os.platform()}-${os.arch()}/bin/restate-server`);
}

/** Version of the installed @restatedev/restate-server package. */
export function restateVersion() {
  return require("@restatedev/restate-server/package.json").version;
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A child process with captured output (tail kept for error messages). */
export class Child {
  constructor(name, cmd, args, opts) {
    this.name = name;
    this.output = "";
    this.exited = false;
    this.proc = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    const add = (c) => {
      this.output = (this.output + c.toString()).slice(-50_000);
    };
    this.proc.stdout.on("data", add);
    this.proc.stderr.on("data", add);
    this.done = new Promise((resolve) => {
      this.proc.once("exit", (code, signal) => {
        this.exited = true;
        this.output += `\n[${name} exited: ${signal ?? code}]\n`;
        resolve();
      });
      this.proc.once("error", (err) => {
        this.exited = true;
        this.output += `\n[${name} failed: ${err.message}]\n`;
        resolve();
      });
    });
  }

  get pid() {
    return this.proc.pid;
  }

  async kill(signal = "SIGTERM", graceMs = 15_000) {
    if (this.exited) return;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.done;
    clearTimeout(t);
  }

  tail() {
    return this.output.split("\n").slice(-30).join("\n");
  }
}

async function healthy(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * A server under test. `kind` is "restate" or "endure"; `nodeArgs` are extra Node flags for
 * Endure (e.g. --cpu-prof), `env` extra variables for it, `endureRoot` the checkout whose
 * bin/endure.js runs (default: this repository, to compare a branch). `restart()` starts it again on the same data and ports.
 * `healthyTimeoutMs` bounds each start (a loaded machine needs more than the default minute).
 */
export async function startServer(kind, { nodeArgs = [], dataDir, env: extraEnv = {}, endureRoot = REPO_ROOT, serverArgs = [], cpus, healthyTimeoutMs = 60_000 } = {}) {
  // `cpus` ("0", "0,1"): the server process, and every process or thread it starts, runs only on
  // those cores (taskset execs the server, so the pid is the server's).
  const pinned = (cmd, args) => (cpus === undefined ? [cmd, args] : ["taskset", ["-c", cpus, cmd, ...args]]);
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), `bench-${kind}-`)));
  const ports = { ingress: await freePort(), admin: await freePort(), fabric: await freePort() };
  const ingressUrl = `http://127.0.0.1:${ports.ingress}`;
  const adminUrl = `http://127.0.0.1:${ports.admin}`;
  const spawnIt = () => {
    if (kind === "restate") {
      const env = {
        ...process.env,
        RESTATE_DISABLE_TELEMETRY: "true",
        RESTATE_BASE_DIR: dir,
        RESTATE_NODE_NAME: "bench",
        RESTATE_LISTEN_MODE: "tcp",
        RESTATE_BIND_ADDRESS: `127.0.0.1:${ports.fabric}`,
        RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${ports.fabric}`,
        RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ports.ingress}`,
        RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${ports.admin}`,
        RESTATE_LOG_FILTER: "warn",
      };
      return new Child("restate-server", ...pinned(restateBinary(), ["--no-logo"]), { env, cwd: dir });
    }
    const args = [
      ...nodeArgs,
      path.join(endureRoot, "bin", "endure.js"),
      "server",
      "--data-dir",
      dir,
      "--ingress-bind",
      `127.0.0.1:${ports.ingress}`,
      "--admin-bind",
      `127.0.0.1:${ports.admin}`,
      "--log-level",
      "warn",
      ...serverArgs,
    ];
    return new Child("endure", ...pinned(process.execPath, args), { env: { ...process.env, ...extraEnv }, cwd: endureRoot });
  };
  const waitHealthy = async () => {
    // ENDURE_BENCH_START_TIMEOUT_S overrides the default start-up bound (a machine busy with other work needs more).
    const envTimeoutS = process.env.ENDURE_BENCH_START_TIMEOUT_S;
    const timeoutMs = envTimeoutS === undefined ? healthyTimeoutMs : Number(envTimeoutS) * 1000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exited) throw new Error(`${kind} exited during start-up:\n${child.tail()}`);
      if ((await healthy(`${adminUrl}/health`)) && (await healthy(`${ingressUrl}/restate/health`))) return;
      if (Date.now() > deadline) {
        await child.kill("SIGKILL");
        throw new Error(`${kind} not healthy within ${timeoutMs / 1000} s:\n${child.tail()}`);
      }
      await sleep(50);
    }
  };
  let child = spawnIt();
  await waitHealthy();
  return {
    kind,
    dataDir: dir,
    ingressUrl,
    adminUrl,
    get pid() {
      return child.pid;
    },
    tail: () => child.tail(),
    /** kill -9, waiting until the process is gone. */
    crash: () => child.kill("SIGKILL"),
    /** Starts a new process on the same data and ports; resolves when healthy. */
    async restart() {
      child = spawnIt();
      await waitHealthy();
    },
    stop: () => child.kill("SIGTERM"),
  };
}

/** Starts the SDK service process (bench/services.mjs) on a free port. */
export async function startServices(stepsFile) {
  const port = await freePort();
  const child = new Child("services", process.execPath, [path.join(BENCH_DIR, "services.mjs")], {
    env: { ...process.env, PORT: String(port), BENCH_STEPS_FILE: stepsFile },
    cwd: BENCH_DIR,
  });
  // Generous: on a loaded machine importing the SDK alone can take many seconds.
  const deadline = Date.now() + 120_000;
  while (!/listening on \d+/.test(child.output)) {
    if (child.exited || Date.now() > deadline) throw new Error(`services did not start:\n${child.tail()}`);
    await sleep(50);
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, tail: () => child.tail(), stop: () => child.kill("SIGTERM", 3000) };
}

/** Registers the service endpoint with a server through its admin API. */
export async function register(server, servicesUrl) {
  const res = await fetch(`${server.adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri: servicesUrl }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`registration failed: HTTP ${res.status} ${text}`);
}
