// Embedded mode next to server mode: W1 (no-op, 32 clients), W2 (10 steps, 32 clients) and W7
// (5 steps, 1 client) from bench/workloads.mjs, in one run, against
//   - restate:  Restate's own server (npm @restatedev/restate-server) + the SDK service process;
//   - server:   `endure server` + the same SDK service process (HTTP/2 between them);
//   - embedded: one Node.js process running startEndure({ services }) from src/ with the same
//               services in-process (bench/embedded-app.mjs): no HTTP/2 hop, no second process.
// The load driver is this process in every mode (keep-alive HTTP/1.1 to the ingress), inside a
// loopback-only network namespace as in bench/run.mjs.
//
//   node bench/embedded.mjs [--duration 10] [--only restate,server,embedded]
//
// Writes bench/results/embedded-latest.json.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "./lib/http.mjs";
import { reexecInNetns } from "./lib/netns.mjs";
import { memMiB } from "./lib/proc.mjs";
import { fmt, markdownTable, runMeta } from "./lib/report.mjs";
import { BENCH_DIR, Child, freePort, register, restateVersion, startServer, startServices } from "./lib/servers.mjs";
import * as W from "./workloads.mjs";

const { values: args } = parseArgs({
  options: { duration: { type: "string", default: "10" }, only: { type: "string", default: "restate,server,embedded" } },
});
reexecInNetns(import.meta.url);

const opts = { durationMs: Number(args.duration) * 1000, warmupMs: 2000 };
const MODES = args.only.split(",");
const log = (msg) => console.error(`[embedded ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The embedded app in its own process; `server` and `services` of the context are both it. */
async function startEmbedded() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "bench-embedded-"));
  const [ingress, admin] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const child = new Child("embedded", process.execPath, [path.join(BENCH_DIR, "embedded-app.mjs")], {
    env: { ...process.env, DATA_DIR: dataDir, INGRESS: `127.0.0.1:${ingress}`, ADMIN: `127.0.0.1:${admin}` },
    cwd: BENCH_DIR,
  });
  const deadline = Date.now() + 60_000;
  while (!/ready http/.test(child.output)) {
    if (child.exited || Date.now() > deadline) throw new Error(`embedded app did not start:\n${child.tail()}`);
    await sleep(20);
  }
  const readyMs = performance.now() - t0;
  const proc = {
    kind: "embedded",
    dataDir,
    ingressUrl: `http://127.0.0.1:${ingress}`,
    adminUrl: `http://127.0.0.1:${admin}`,
    readyMs,
    get pid() {
      return child.pid;
    },
    tail: () => child.tail(),
    stop: () => child.kill("SIGTERM"),
  };
  return { server: proc, services: { pid: child.pid, url: "inprocess://services", tail: () => "", stop: async () => {} } };
}

async function setUp(mode) {
  const stepsFile = path.join(os.tmpdir(), `bench-embedded-steps-${mode}-${process.pid}.log`);
  writeFileSync(stepsFile, "");
  process.env.BENCH_STEPS_FILE = stepsFile;
  let server;
  let services;
  if (mode === "embedded") {
    ({ server, services } = await startEmbedded());
  } else {
    services = await startServices(stepsFile);
    server = await startServer(mode === "restate" ? "restate" : "endure");
    await register(server, services.url);
  }
  const client = new Client(server.ingressUrl);
  for (const deadline = Date.now() + 30_000; ; ) {
    const res = await client.request("POST", "/Noop/run").catch(() => ({ status: 0 }));
    if (res.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${mode}: Noop/run never succeeded (last HTTP ${res.status})`);
    await sleep(100);
  }
  return { server, services, client, stepsFile, opts };
}

async function runMode(mode) {
  log(`${mode}: starting`);
  const ctx = await setUp(mode);
  const sameProcess = ctx.server.pid === ctx.services.pid;
  const out = { loadAvgAtStart: os.loadavg()[0], sameProcess };
  try {
    log(`${mode}: warm-up ${opts.warmupMs / 1000} s`);
    await W.warmup(ctx);
    for (const [name, fn] of [["W1", W.w1], ["W2", W.w2], ["W7", W.w7]]) {
      log(`${mode}: ${name}`);
      const r = await fn(ctx);
      // CPU of everything on the server side: Endure (or Restate) plus the SDK process, or the one embedded process.
      out[name] = { ...r, totalCpuS: r.serverCpuS + (sameProcess ? 0 : r.sdkCpuS) };
      out[name].totalCpuMsPerReq = r.ok ? (out[name].totalCpuS * 1000) / r.ok : Number.NaN;
    }
    out.peakRssMiB = memMiB(ctx.server.pid, "VmHWM") + (sameProcess ? 0 : memMiB(ctx.services.pid, "VmHWM"));
    out.loadAvgAtEnd = os.loadavg()[0];
  } catch (err) {
    console.error(`${mode} failed: ${err.stack ?? err}\n--- server output ---\n${ctx.server.tail()}\n--- services output ---\n${ctx.services.tail()}`);
    throw err;
  } finally {
    ctx.client.close();
    await ctx.server.stop();
    await ctx.services.stop();
    rmSync(ctx.server.dataDir, { recursive: true, force: true });
    rmSync(ctx.stepsFile, { force: true });
  }
  return out;
}

const ROWS = [
  ["W1 no-op: throughput (req/s)", "W1", "throughput", 0],
  ["W1 p50 (ms)", "W1", "p50Ms", 2],
  ["W1 p99 (ms)", "W1", "p99Ms", 2],
  ["W1 CPU per request, server + SDK (ms)", "W1", "totalCpuMsPerReq", 2],
  ["W2 10 steps: throughput (req/s)", "W2", "throughput", 0],
  ["W2 p50 (ms)", "W2", "p50Ms", 2],
  ["W2 p99 (ms)", "W2", "p99Ms", 2],
  ["W2 CPU per request, server + SDK (ms)", "W2", "totalCpuMsPerReq", 2],
  ["W7 1 client, 5 steps: p50 (ms)", "W7", "p50Ms", 2],
  ["W7 p99 (ms)", "W7", "p99Ms", 2],
  ["W7 throughput (req/s)", "W7", "throughput", 0],
  ["Peak RSS, server + SDK (MiB)", null, "peakRssMiB", 0],
];

function table(results) {
  const withRatio = results.server && results.embedded;
  const header = ["metric", ...MODES, ...(withRatio ? ["embedded/server"] : [])];
  const rows = ROWS.map(([label, w, field, digits]) => {
    const vals = MODES.map((m) => (w ? results[m]?.[w]?.[field] : results[m]?.[field]));
    const row = [label, ...vals.map((v) => fmt(v, digits))];
    if (withRatio) {
      const s = w ? results.server[w]?.[field] : results.server[field];
      const e = w ? results.embedded[w]?.[field] : results.embedded[field];
      row.push(typeof s === "number" && typeof e === "number" && s !== 0 ? `${(e / s).toFixed(2)}x` : "");
    }
    return row;
  });
  const errs = ["errors (W1 / W2 / W7)", ...MODES.map((m) => ["W1", "W2", "W7"].map((w) => results[m]?.[w]?.errors ?? "–").join(" / "))];
  const load = ["load avg at start / end", ...MODES.map((m) => `${fmt(results[m]?.loadAvgAtStart, 1)} / ${fmt(results[m]?.loadAvgAtEnd, 1)}`)];
  if (withRatio) {
    errs.push("");
    load.push("");
  }
  return markdownTable(header, [...rows, errs, load]);
}

async function main() {
  const results = {};
  for (const mode of MODES) results[mode] = await runMode(mode);
  console.log(`\n${table(results)}\n`);
  const dir = path.join(BENCH_DIR, "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "embedded-latest.json");
  const meta = runMeta({ durationS: opts.durationMs / 1000, restateServer: MODES.includes("restate") ? restateVersion() : undefined });
  writeFileSync(file, `${JSON.stringify({ meta, results }, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
