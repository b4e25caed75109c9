// What a second core gives each server: W1 (no-op, 32 clients) and W3 (counter object over 100
// keys, 32 clients) with the server's process tree pinned to one core (`taskset -c 0`) and then
// to two (`taskset -c 0,1`), for
//   - restate:    Restate's own server (npm @restatedev/restate-server);
//   - endure-w1:  `endure server` (one process, the default);
//   - endure-w2:  `endure server --workers 2` (a supervisor and two worker processes).
// The SDK service process and this load driver are not pinned: on a 2-core machine they compete
// with the server for the same cores, so the CPU each used is reported next to the throughput.
// Inside a loopback-only network namespace, as bench/run.mjs.
//
//   node bench/cores.mjs [--duration 10] [--only restate,endure-w1,endure-w2] [--cpus 0/0,1]
//
// Writes bench/results/cores-latest.json and prints a Markdown table.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "./lib/http.mjs";
import { closedLoop, pool } from "./lib/load.mjs";
import { reexecInNetns } from "./lib/netns.mjs";
import { cpuSeconds, treeCpuSeconds } from "./lib/proc.mjs";
import { fmt, markdownTable, runMeta } from "./lib/report.mjs";
import { BENCH_DIR, register, restateVersion, startServer, startServices } from "./lib/servers.mjs";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    only: { type: "string", default: "restate,endure-w1,endure-w2" },
    cpus: { type: "string", default: "0/0,1" },
  },
});
reexecInNetns(import.meta.url);

const durationMs = Number(args.duration) * 1000;
const WARMUP_MS = 3000;
const SERVERS = {
  restate: { kind: "restate", serverArgs: [] },
  "endure-w1": { kind: "endure", serverArgs: [] },
  "endure-w2": { kind: "endure", serverArgs: ["--workers", "2"] },
};
const CPU_SETS = args.cpus.split("/");
const log = (msg) => console.error(`[cores ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `send` in a closed loop of 32 clients and measures the CPU of server tree, SDK and driver. */
async function measure(ctx, send) {
  const server0 = treeCpuSeconds(ctx.server.pid);
  const sdk0 = cpuSeconds(ctx.services.pid);
  const driver0 = process.cpuUsage();
  const r = await closedLoop({ clients: 32, durationMs, send });
  const serverCpuS = treeCpuSeconds(ctx.server.pid) - server0;
  const sdkCpuS = cpuSeconds(ctx.services.pid) - sdk0;
  const d = process.cpuUsage(driver0);
  const driverCpuS = (d.user + d.system) / 1e6;
  const seconds = durationMs / 1000;
  return {
    ok: r.ok,
    errors: r.errors,
    firstError: r.firstError,
    throughput: r.throughput,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    serverCpuS,
    sdkCpuS,
    driverCpuS,
    // Cores busy on average over the run: how much of the machine each part took.
    serverCores: serverCpuS / seconds,
    sdkCores: sdkCpuS / seconds,
    driverCores: driverCpuS / seconds,
    serverCpuMsPerReq: r.ok ? (serverCpuS * 1000) / r.ok : Number.NaN,
  };
}

async function runOne(name, cpus) {
  const { kind, serverArgs } = SERVERS[name];
  const stepsFile = path.join(os.tmpdir(), `bench-cores-steps-${process.pid}.log`);
  writeFileSync(stepsFile, "");
  const services = await startServices(stepsFile);
  // Starting three processes on one busy core takes a while.
  const server = await startServer(kind, { serverArgs, cpus, healthyTimeoutMs: 240_000 });
  const client = new Client(server.ingressUrl);
  const out = { server: name, cpus, loadAvgAtStart: os.loadavg()[0] };
  try {
    await register(server, services.url);
    const deadline = Date.now() + 30_000;
    while ((await client.request("POST", "/Noop/run").catch(() => ({ status: 0 }))).status !== 200) {
      if (Date.now() > deadline) throw new Error(`${name}: Noop/run never succeeded`);
      await sleep(100);
    }
    const ctx = { server, services, client };
    // Also the time for the workers of a node to settle their share of the partitions.
    await closedLoop({ clients: 32, durationMs: WARMUP_MS, send: () => client.call("/Noop/run") });
    log(`${name} on cpus ${cpus}: W1`);
    out.W1 = await measure(ctx, () => client.call("/Noop/run"));
    log(`${name} on cpus ${cpus}: W3`);
    const keys = 100;
    out.W3 = await measure(ctx, () => client.call(`/Counter/k${Math.floor(Math.random() * keys)}/add`));
    const values = await pool(Array.from({ length: keys }, (_, k) => () => client.call(`/Counter/k${k}/get`)), 16);
    out.W3.counterSumMatches = values.reduce((a, b) => a + b, 0) === out.W3.ok;
    out.loadAvgAtEnd = os.loadavg()[0];
  } catch (err) {
    console.error(`${name} failed: ${err.stack ?? err}\n--- server ---\n${server.tail()}\n--- services ---\n${services.tail()}`);
    throw err;
  } finally {
    client.close();
    await server.stop();
    await services.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
    rmSync(stepsFile, { force: true });
  }
  return out;
}

mkdirSync(path.join(BENCH_DIR, "results"), { recursive: true });
const runs = [];
for (const name of args.only.split(",")) {
  for (const cpus of CPU_SETS) {
    log(`${name} pinned to cpus ${cpus}: starting`);
    runs.push(await runOne(name, cpus));
    // Kept as it goes: a run that fails later still leaves what was measured.
    writeFileSync(path.join(BENCH_DIR, "results", "cores-partial.json"), JSON.stringify(runs, null, 2));
  }
}

const rows = [];
for (const w of ["W1", "W3"]) {
  for (const r of runs) {
    const base = runs.find((b) => b.server === r.server && b.cpus === CPU_SETS[0]);
    rows.push([
      `${w} ${r.server}`,
      r.cpus,
      fmt(r[w].throughput, 0),
      r === base ? "1.00" : fmt(r[w].throughput / base[w].throughput, 2),
      fmt(r[w].p50Ms, 1),
      fmt(r[w].p99Ms, 1),
      fmt(r[w].serverCores, 2),
      fmt(r[w].sdkCores, 2),
      fmt(r[w].driverCores, 2),
      fmt(r[w].serverCpuMsPerReq, 3),
      String(r[w].errors),
      `${fmt(r.loadAvgAtStart, 1)} / ${fmt(r.loadAvgAtEnd, 1)}`,
    ]);
  }
}
const header = ["workload, server", "server cpus", "req/s", "gain", "p50 ms", "p99 ms", "server cores", "SDK cores", "driver cores", "server CPU ms/req", "errors", "load avg start / end"];
const table = markdownTable(header, rows);
console.log(table);
const resultsDir = path.join(BENCH_DIR, "results");
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  path.join(resultsDir, "cores-latest.json"),
  JSON.stringify({ meta: runMeta({ restate: restateVersion(), durationS: durationMs / 1000 }), runs, table }, null, 2),
);
