// The package as a user gets it: `npm pack` of this checkout, installed into an empty project
// (with no TypeScript loader), must run `npx endure server` and its library entry point, both
// answering calls to a service written against the SDK the user brings.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, call, eventually, freePort, register } from "../harness/index.ts";

const run = promisify(execFile);
const APP_FILES = path.join(REPO_ROOT, "test", "package", "app");

let work: string;
let app: string;
const started: ChildProcess[] = [];

/**
 * better-sqlite3 compiles its native addon on install when no prebuilt binary can be fetched
 * (GitHub is out of reach here): over a minute of CPU. The checkout's node_modules already holds
 * that addon, built for this Node and this machine, so it is offered to prebuild-install as a
 * local prebuild. A version mismatch simply falls back to compiling.
 */
async function localPrebuilds(dir: string): Promise<Record<string, string>> {
  const sqliteDir = path.join(REPO_ROOT, "node_modules", "better-sqlite3");
  const addon = path.join(sqliteDir, "build", "Release", "better_sqlite3.node");
  if (!existsSync(addon)) return {};
  const { version } = JSON.parse(await readFile(path.join(sqliteDir, "package.json"), "utf8")) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await mkdir(dir, { recursive: true });
  await run("tar", ["-czf", path.join(dir, name), "-C", sqliteDir, "build/Release/better_sqlite3.node"]);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/** Spawns a command in the app in its own process group, so that npx and its node child stop together. */
function start(command: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd: app, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  started.push(child);
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
  return exited;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "endure-pack-"));
  // `npm pack` runs `prepare`, which builds dist/ from the sources.
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  const tarball = path.join(work, packed!.filename);

  app = path.join(work, "app");
  await mkdir(app);
  await writeFile(
    path.join(app, "package.json"),
    JSON.stringify({ name: "endure-user", private: true, type: "module", allowScripts: { "better-sqlite3": true } }),
  );
  await cp(APP_FILES, app, { recursive: true });
  const sdk = JSON.parse(await readFile(path.join(REPO_ROOT, "node_modules", "@restatedev", "restate-sdk", "package.json"), "utf8")) as {
    version: string;
  };
  // Jest too, to run the test environment under a third test runner.
  await run("npm", ["install", "--no-audit", "--no-fund", tarball, `@restatedev/restate-sdk@${sdk.version}`, "jest@30"], {
    cwd: app,
    env: { ...process.env, ...(await localPrebuilds(path.join(work, "prebuilds"))) },
    maxBuffer: 64 << 20,
  });
}, 600_000);

afterAll(async () => {
  await Promise.all(started.map(stopGroup));
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed package installed into an empty project", () => {
  it("ships compiled JavaScript and declarations, and needs no TypeScript loader", async () => {
    const installed = path.join(app, "node_modules", "endure");
    expect(existsSync(path.join(installed, "dist", "index.js"))).toBe(true);
    expect(existsSync(path.join(installed, "dist", "index.d.ts"))).toBe(true);
    expect(existsSync(path.join(installed, "dist", "store", "sqlite", "migrations", "0001_initial.sql"))).toBe(true);
    expect(existsSync(path.join(installed, "src"))).toBe(false);
    expect(existsSync(path.join(app, "node_modules", "tsx"))).toBe(false);
  });

  it("runs `npx endure server`, which answers calls to a registered service", async () => {
    const [ingress, admin, servicePort] = [await freePort(), await freePort(), await freePort()];
    const service = start(process.execPath, ["serve.mjs"], { PORT: String(servicePort) });
    const server = start("npx", [
      "endure",
      "server",
      "--data-dir",
      path.join(work, "server-data"),
      "--ingress-bind",
      `127.0.0.1:${ingress}`,
      "--admin-bind",
      `127.0.0.1:${admin}`,
    ]);
    const adminUrl = `http://127.0.0.1:${admin}`;
    await eventually(
      async () => {
        if (server.child.exitCode !== null) throw new Error(`endure server exited:\n${server.output()}`);
        const res = await fetch(`${adminUrl}/health`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      60_000,
      "endure server to be healthy",
    );
    await eventually(async () => (service.output().includes("listening") ? true : undefined), 30_000, "the service to listen");
    await register(adminUrl, `http://127.0.0.1:${servicePort}`);
    const res = await call(`http://127.0.0.1:${ingress}`, "/Greeter/greet", "package");
    expect(res.status).toBe(200);
    expect(res.json).toBe("Hello, package!");
    // SQL introspection runs in a worker thread, from the compiled sources as well.
    const query = await fetch(`${adminUrl}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: "select target, status from sys_invocation" }),
    });
    expect(query.status).toBe(200);
    expect(((await query.json()) as { rows: unknown[] }).rows).toEqual([{ target: "Greeter/greet", status: "completed" }]);
  });

  it("runs startEndure() from the library entry point, whose in-process service answers calls over HTTP and through endure.client", async () => {
    const { stdout } = await run(process.execPath, ["library.mjs", path.join(work, "library-data")], { cwd: app, timeout: 60_000 });
    expect(stdout).toContain('answer 200 "Hello, library!"');
    expect(stdout).toContain('client "Hello, client!"');
    expect(stdout).toContain('sent "Hello, send!"');
  });

  it("runs EndureTestEnvironment under Jest", async () => {
    const jest = path.join(app, "node_modules", "jest", "bin", "jest.js");
    const { stderr } = await run(process.execPath, ["--experimental-vm-modules", jest, "--testMatch", "**/*.jest.test.mjs"], {
      cwd: app,
      timeout: 120_000,
      env: { ...process.env, RESTATE_LOGGING: "WARN" },
    });
    expect(stderr).toMatch(/Tests:\s+2 passed, 2 total/);
  });
});
