// `npm run bench`: Restate's server and then Endure, each driven by the same SDK services and
// the same closed-loop driver, inside a network namespace with loopback only. Prints a table
// and writes bench/results/latest.json.
//
//   node bench/run.mjs [--long] [--only restate|endure] [--duration 10] [--profile] [--endure-root DIR]
//
// --long     adds the phase measuring throughput after 100,000 retained completions
//            (--long-count N changes the number, for a quick check of the phase)
// --only     runs one server (no ratios)
// --duration seconds per closed-loop workload (default 10)
// --profile  runs Endure alone under `node --cpu-prof` for warm-up, W1 and W2, and prints the
//            top self-time functions (profiles kept in bench/results/profiles/)
// --endure-root  runs Endure from another checkout (default: this one), to compare a change
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "./lib/http.mjs";
import { BENCH_DIR, REPO_ROOT, register, restateVersion, startServer, startServices } from "./lib/servers.mjs";
import { profileTable } from "./profile-summary.mjs";
import * as W from "./workloads.mjs";

const { values: args } = parseArgs({
  options: {
    long: { type: "boolean", default: false },
    only: { type: "string" },
    duration: { type: "string", default: "10" },
    profile: { type: "boolean", default: false },
    "endure-root": { type: "string" },
    "long-count": { type: "string", default: "100000" },
  },
});

// Restate's server reaches out to the internet at start-up: run everything (servers,
// services, driver) in a fresh network namespace that has only loopback.
if (process.env.ENDURE_BENCH_NETNS !== "1") {
  const self = fileURLToPath(import.meta.url);
  const unshareFlags = process.getuid?.() === 0 ? ["-n"] : ["-r", "-n"];
  const r = spawnSync(
    "unshare",
    [...unshareFlags, "sh", "-c", 'ip link set lo up && exec "$@"', "sh", process.execPath, self, ...process.argv.slice(2)],
    { stdio: "inherit", env: { ...process.env, ENDURE_BENCH_NETNS: "1" } },
  );
  if (r.error) console.error(`cannot run unshare: ${r.error.message}`);
  process.exit(r.status ?? 1);
}

const opts = { durationMs: Number(args.duration) * 1000, warmupMs: 2000, longCount: Number(args["long-count"]) };
const RESULTS_DIR = path.join(BENCH_DIR, "results");
mkdirSync(RESULTS_DIR, { recursive: true });
const log = (msg) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Starts services and one server, registers, waits until a call goes through. */
async function setUp(kind, nodeArgs, env) {
  const stepsFile = path.join(os.tmpdir(), `bench-steps-${kind}-${process.pid}.log`);
  writeFileSync(stepsFile, "");
  const services = await startServices(stepsFile);
  const endureRoot = args["endure-root"] ? path.resolve(args["endure-root"]) : undefined;
  const server = await startServer(kind, { nodeArgs, env, endureRoot });
  await register(server, services.url);
  const client = new Client(server.ingressUrl);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await client.request("POST", "/Noop/run").catch(() => ({ status: 0 }));
    if (res.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${kind}: Noop/run never succeeded (last HTTP ${res.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { server, services, client, stepsFile, opts };
}

async function tearDown(ctx) {
  ctx.client.close();
  await ctx.server.stop();
  await ctx.services.stop();
  rmSync(ctx.server.dataDir, { recursive: true, force: true });
  rmSync(ctx.stepsFile, { force: true });
}

async function runServer(kind) {
  log(`${kind}: starting`);
  const ctx = await setUp(kind, []);
  const out = { loadAvgAtStart: os.loadavg()[0] };
  try {
    log(`${kind}: warm-up ${opts.warmupMs / 1000} s`);
    await W.warmup(ctx);
    const plan = [
      ["W1", W.w1],
      ["W2", W.w2],
      ["W3", W.w3],
      ["W4", W.w4],
      ["W5", W.w5],
      ["W7", W.w7],
      ...(args.long ? [["long", W.long]] : []),
      ["W6", W.w6],
    ];
    for (const [name, fn] of plan) {
      log(`${kind}: ${name}`);
      out[name] = await fn(ctx);
    }
    out.loadAvgAtEnd = os.loadavg()[0];
  } catch (err) {
    console.error(`${kind} failed: ${err.stack ?? err}\n--- server output ---\n${ctx.server.tail()}\n--- services output ---\n${ctx.services.tail()}`);
    throw err;
  } finally {
    await tearDown(ctx);
  }
  return out;
}

async function runProfile() {
  const dir = path.join(RESULTS_DIR, "profiles");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // A private TMPDIR gives tsx a fresh cache holding exactly the compiled code profiled,
  // whose source maps lead back to .ts lines.
  const tmp = path.join(dir, "tmp");
  mkdirSync(tmp);
  const ctx = await setUp("endure", ["--cpu-prof", "--cpu-prof-dir", dir], { TMPDIR: tmp });
  const out = {};
  try {
    await W.warmup(ctx);
    out.W1 = await W.w1(ctx);
    out.W2 = await W.w2(ctx);
  } finally {
    await tearDown(ctx);
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  if (!files[0]) throw new Error("no .cpuprofile written");
  console.log(`W1 ${out.W1.throughput.toFixed(0)} req/s, W2 ${out.W2.throughput.toFixed(0)} req/s (under the profiler)`);
  console.log(`profile: ${path.relative(REPO_ROOT, files[0])}\n`);
  const tsxCache = readdirSync(tmp).find((d) => d.startsWith("tsx-"));
  console.log(profileTable(files[0], 30, tsxCache && path.join(tmp, tsxCache)));
}

// ---- reporting ----

/** Rows of the table: [label, workload, field, digits]. */
const ROWS = [
  ["W1 no-op: throughput (req/s)", "W1", "throughput", 0],
  ["W1 p50 latency (ms)", "W1", "p50Ms", 2],
  ["W1 p99 latency (ms)", "W1", "p99Ms", 2],
  ["W1 server CPU (s)", "W1", "serverCpuS", 1],
  ["W1 SDK CPU (s)", "W1", "sdkCpuS", 1],
  ["W1 server CPU per request (ms)", "W1", "serverCpuMsPerReq", 3],
  ["W1 server RSS peak (MiB)", "W1", "serverRssPeakMiB", 0],
  ["W1 server RSS mean (MiB)", "W1", "serverRssMeanMiB", 0],
  ["W2 10 steps: throughput (req/s)", "W2", "throughput", 0],
  ["W2 p50 latency (ms)", "W2", "p50Ms", 2],
  ["W2 p99 latency (ms)", "W2", "p99Ms", 2],
  ["W2 server CPU (s)", "W2", "serverCpuS", 1],
  ["W2 SDK CPU (s)", "W2", "sdkCpuS", 1],
  ["W3 counter: throughput (req/s)", "W3", "throughput", 0],
  ["W3 p50 latency (ms)", "W3", "p50Ms", 2],
  ["W3 p99 latency (ms)", "W3", "p99Ms", 2],
  ["W3 server CPU (s)", "W3", "serverCpuS", 1],
  ["W3 SDK CPU (s)", "W3", "sdkCpuS", 1],
  ["W3 counters sum = successes", "W3", "counterSumMatches", null],
  ["W4 1000 sleeps: all done (s)", "W4", "totalS", 2],
  ["W4 lateness p50 (ms)", "W4", "latenessP50Ms", 1],
  ["W4 lateness p99 (ms)", "W4", "latenessP99Ms", 1],
  ["W4 lateness max (ms)", "W4", "latenessMaxMs", 1],
  ["W4 server CPU (s)", "W4", "serverCpuS", 1],
  ["W4 SDK CPU (s)", "W4", "sdkCpuS", 1],
  ["W5 fan-out 100: throughput (req/s)", "W5", "throughput", 1],
  ["W5 p50 latency (ms)", "W5", "p50Ms", 1],
  ["W5 p99 latency (ms)", "W5", "p99Ms", 1],
  ["W5 server CPU (s)", "W5", "serverCpuS", 1],
  ["W5 SDK CPU (s)", "W5", "sdkCpuS", 1],
  ["W6 restart → all 200 done (s)", "W6", "recoveryS", 2],
  ["W6 restart → healthy (s)", "W6", "restartToHealthyS", 2],
  ["W6 invocations past the sleep at kill", "W6", "passedSleepAtKill", 0],
  ["W6 invocations complete at kill", "W6", "completedBeforeKill", 0],
  ["W6 steps that ran twice", "W6", "stepsRanTwice", 0],
  ["W6 all 200 complete", "W6", "allComplete", null],
  ["W7 1 client, 5 steps: p50 (ms)", "W7", "p50Ms", 2],
  ["W7 p99 latency (ms)", "W7", "p99Ms", 2],
  ["W7 throughput (req/s)", "W7", "throughput", 0],
  ["Peak server RSS, W1–W7 (MiB)", "W6", "serverPeakRssBeforeKillMiB", 0],
  ["Server CPU total before kill (s)", "W6", "serverCpuBeforeKillS", 1],
  [`Long: throughput after +${opts.longCount} (req/s)`, "long", "throughput", 0],
  [`Long: p50 latency after +${opts.longCount} (ms)`, "long", "p50Ms", 2],
  ["Long: fill throughput (req/s)", "long", "fillThroughput", 0],
  ["Long: server RSS after (MiB)", "long", "serverRssAfterMiB", 0],
];

/** Machine load (1-minute average) around each server's run: other work skews the numbers. */
const LOAD_ROWS = [
  ["Machine load avg at start / end", "loadAvgAtStart", "loadAvgAtEnd"],
];

function fmt(v, digits) {
  if (v === undefined || v === null) return "–";
  if (typeof v === "boolean") return v ? "yes" : "NO";
  if (Number.isNaN(v)) return "n/a";
  return v.toFixed(digits);
}

function table(results, kinds) {
  const header = ["metric", ...kinds, ...(kinds.length === 2 ? ["Endure/Restate"] : [])];
  const rows = [];
  const ratios = {};
  for (const [label, w, field, digits] of ROWS) {
    const vals = kinds.map((k) => results[k]?.[w]?.[field]);
    if (vals.every((v) => v === undefined)) continue;
    const row = [label, ...vals.map((v) => fmt(v, digits ?? 0))];
    if (kinds.length === 2) {
      const [r, e] = vals;
      const ratio = typeof r === "number" && typeof e === "number" && r !== 0 ? e / r : undefined;
      if (ratio !== undefined) ratios[`${w}.${field}`] = ratio;
      row.push(ratio === undefined ? "" : `${ratio.toFixed(2)}x`);
    }
    rows.push(row);
  }
  for (const [label, a, b] of LOAD_ROWS) {
    const row = [label, ...kinds.map((k) => `${fmt(results[k]?.[a], 1)} / ${fmt(results[k]?.[b], 1)}`)];
    if (kinds.length === 2) row.push("");
    rows.push(row);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const text = [line(header), `|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...rows.map(line)].join("\n");
  return { text, ratios };
}

function meta() {
  const root = args["endure-root"] ? path.resolve(args["endure-root"]) : REPO_ROOT;
  const git = spawnSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    restateServer: restateVersion(),
    endureCommit: git.stdout?.trim(),
    endureSrcDirty: spawnSync("git", ["-C", root, "status", "--porcelain", "src"], { encoding: "utf8" }).stdout?.trim() !== "",
    endureRoot: root,
    durationS: opts.durationMs / 1000,
    long: args.long ? opts.longCount : false,
  };
}

async function main() {
  if (args.profile) return runProfile();
  const kinds = args.only ? [args.only] : ["restate", "endure"];
  const results = {};
  for (const kind of kinds) results[kind] = await runServer(kind);
  const { text, ratios } = table(results, kinds);
  console.log(`\n${text}\n`);
  const file = path.join(RESULTS_DIR, "latest.json");
  writeFileSync(file, `${JSON.stringify({ meta: meta(), results, ratios }, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
