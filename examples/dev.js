// `npm start`: runs Endure (SQLite under ./endure-data) next to the example services,
// registers the services and prints commands to try. Ctrl-C stops both.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import net from "node:net";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// The same variables the server reads, so one environment configures both.
const INGRESS_BIND = process.env.ENDURE_INGRESS_BIND ?? "127.0.0.1:8080";
const ADMIN_BIND = process.env.ENDURE_ADMIN_BIND ?? "127.0.0.1:9070";
const INGRESS_PORT = Number(INGRESS_BIND.split(":").pop());
const ADMIN_PORT = Number(ADMIN_BIND.split(":").pop());
const SERVICES_PORT = Number(process.env.PORT ?? 9080);
const DATA_DIR = path.resolve(root, process.env.ENDURE_DATA_DIR ?? "endure-data");

const children = [];
let stopping = false;

function start(name, args, env) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = `[${name}] `;
  const forward = (stream, out) => {
    let pending = "";
    stream.on("data", (chunk) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) out.write(`${prefix + line}\n`);
    });
  };
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited unexpectedly (${signal ?? code}); stopping.`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitForHealth(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function waitForTcp(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const attempt = (resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", () => {
      if (Date.now() > deadline) reject(new Error(`timed out waiting for port ${port}`));
      else setTimeout(() => attempt(resolve, reject), 200);
    });
  };
  return new Promise(attempt);
}

function stop(code) {
  if (stopping) return;
  stopping = true;
  let alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  if (alive.length === 0) process.exit(code);
  for (const child of alive) {
    child.once("exit", () => {
      alive = alive.filter((c) => c !== child);
      if (alive.length === 0) process.exit(code);
    });
    child.kill("SIGTERM");
  }
  setTimeout(() => {
    for (const child of alive) child.kill("SIGKILL");
    process.exit(code);
  }, 5000).unref();
}

process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

async function main() {
  start("services", ["--import", "tsx", "examples/services.ts"], { PORT: String(SERVICES_PORT) });
  start(
    "endure",
    [
      "bin/endure.js",
      "server",
      "--data-dir",
      DATA_DIR,
      "--ingress-bind",
      INGRESS_BIND,
      "--admin-bind",
      ADMIN_BIND,
    ],
    {},
  );
  await waitForTcp(SERVICES_PORT, 30_000);
  await waitForHealth(`http://127.0.0.1:${ADMIN_PORT}/health`, 30_000);
  await waitForHealth(`http://127.0.0.1:${INGRESS_PORT}/restate/health`, 30_000);

  const res = await fetch(`http://127.0.0.1:${ADMIN_PORT}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri: `http://127.0.0.1:${SERVICES_PORT}` }),
  });
  if (!res.ok) throw new Error(`registering the services failed: ${res.status} ${await res.text()}`);
  const deployment = await res.json();
  const names = (deployment.services ?? []).map((s) => s.name).join(", ");

  const ingress = `localhost:${INGRESS_PORT}`;
  console.log(`
Endure is running (data in ${DATA_DIR}).
  ingress http://127.0.0.1:${INGRESS_PORT}   admin http://127.0.0.1:${ADMIN_PORT}
  registered deployment ${deployment.id}: ${names}
  web UI  http://127.0.0.1:${ADMIN_PORT}/ui

Try:
  curl -X POST ${ingress}/Greeter/greet -H 'content-type: application/json' -d '"Ada"'
  curl -X POST ${ingress}/Counter/alice/add -H 'content-type: application/json' -d '5'
  curl -X POST ${ingress}/Counter/alice/get
  curl -X POST ${ingress}/Onboarding/start -H 'content-type: application/json' -d '"Ada"'
  curl -X POST ${ingress}/Onboarding/start/send -H 'content-type: application/json' -d '"Grace"'
  curl localhost:${ADMIN_PORT}/services

Press Ctrl-C to stop.
`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  stop(1);
});
