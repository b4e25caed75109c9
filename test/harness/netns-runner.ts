// Runs inside a fresh network namespace (see netns.ts): starts Endure and the CLI test
// services there, then answers requests read as JSON lines on stdin — run the official
// `restate` CLI or the `endure` CLI, or make an HTTP request — with JSON lines on stdout. Inside the namespace
// only loopback exists, so the CLI reaches Endure and nothing on the internet. Closing stdin
// stops everything it started.
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { REPO_ROOT, STORE, killAllStarted, startEndure, startServices } from "./index.ts";

const require = createRequire(import.meta.url);

/** The CLI binary shipped by the platform package of `@restatedev/restate`. */
function restateBinary(): string {
  const pkg = require.resolve(`@restatedev/restate-${process.platform}-${process.arch}/package.json`);
  return path.join(path.dirname(pkg), "bin", "restate");
}

const reply = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

/**
 * With E2E_STORE=postgres, the namespace's own 127.0.0.1:5432 forwards to the machine's
 * PostgreSQL through its Unix socket (a file, reachable from any network namespace), so the
 * server and the test databases are reached at the usual address.
 */
async function forwardPostgres(): Promise<net.Server> {
  const socket = process.env.ENDURE_TEST_PG_SOCKET ?? "/var/run/postgresql/.s.PGSQL.5432";
  const server = net.createServer((client) => {
    const upstream = net.connect(socket);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(5432, "127.0.0.1", resolve));
  return server;
}

const pgForwarder = STORE === "postgres" ? await forwardPostgres() : undefined;
const endure = await startEndure({ env: process.env.ENDURE_INACTIVITY_TIMEOUT ? { ENDURE_INACTIVITY_TIMEOUT: process.env.ENDURE_INACTIVITY_TIMEOUT } : {} });
const services = await startServices("test/services/cli.ts");
const home = await mkdtemp(path.join(os.tmpdir(), "endure-cli-home-"));
const bin = restateBinary();

/** Runs the official CLI, or with `endure` set Endure's own, against the namespace's Endure. */
function runCli(args: string[], endureCli = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      RESTATE_ADMIN_URL: endure.adminUrl,
      ENDURE_ADMIN_URL: endure.adminUrl,
      RESTATE_DISABLE_TELEMETRY: "true",
      NO_COLOR: "1",
      TERM: "dumb",
    };
    const child = endureCli
      ? spawn(process.execPath, [path.join(REPO_ROOT, "bin", "endure.js"), ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
      : spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

reply({ ready: true, adminUrl: endure.adminUrl, ingressUrl: endure.ingressUrl, servicesUrl: services.url });

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const req = JSON.parse(line) as
    | { id: number; op: "restate" | "endure"; args: string[] }
    | { id: number; op: "http"; method: string; url: string; body?: string; headers?: Record<string, string> };
  const answer =
    req.op !== "http"
      ? runCli(req.args, req.op === "endure")
      : fetch(req.url, { method: req.method, body: req.body, headers: req.headers }).then(async (res) => ({
          status: res.status,
          contentType: res.headers.get("content-type"),
          text: await res.text(),
        }));
  answer.then(
    (value) => reply({ id: req.id, ok: true, value }),
    (err: unknown) => reply({ id: req.id, ok: false, error: String(err) }),
  );
});
lines.on("close", () => {
  void (async () => {
    await endure.stop();
    await services.stop();
    await killAllStarted();
    pgForwarder?.close();
    process.exit(0);
  })();
});
