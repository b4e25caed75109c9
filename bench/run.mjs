// `npm run bench`: Restate's server and then Endure, each driven by the same SDK services and
// the same closed-loop driver, inside a network namespace with loopback only. Prints a table
// and writes bench/results/latest.json.
//
//   node bench/run.mjs [--long] [--only restate|endure] [--stores sqlite,postgres] [--cluster]
//                      [--duration 10] [--profile] [--endure-root DIR]
//
// --long     adds the phase measuring throughput after 100,000 retained completions
//            (--long-count N changes the number, for a quick check of the phase)
// --only     runs one server (no ratios)
// --stores   Endure's stores, each run on its own: sqlite (default) and/or postgres (one node on a
//            fresh database of the machine's PostgreSQL, reached through its socket: bench/lib/pg.mjs)
// --skip     workloads to leave out, e.g. --skip W4,W6 (a quicker run)
// --dbos     adds W2 on DBOS Transact (bench/dbos.mjs) on a fresh PostgreSQL database
// --cluster  adds three Endure nodes on one fresh PostgreSQL database, W1 and W3 only, each
//            request sent to the next node in turn
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
import { Client, RotatingClient } from "./lib/http.mjs";
import { createBenchDatabase, startPgBridge } from "./lib/pg.mjs";
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
    stores: { type: "string", default: "sqlite" },
    cluster: { type: "boolean", default: false },
    dbos: { type: "boolean", default: false },
    skip: { type: "string", default: "" },
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

/** Columns of a run: Restate's server, Endure on each store, the three-node cluster. */
const KIND_LABELS = { restate: "restate", endure: "endure (sqlite)", "endure-pg": "endure (postgres)", cluster: "cluster (3 nodes)", dbos: "dbos (W2)" };

/** The bridge to the machine's PostgreSQL, started on first use (see bench/lib/pg.mjs). */
let pgBridge;

async function waitCallable(kind, client) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await client.request("POST", "/Noop/run").catch(() => ({ status: 0 }));
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${kind}: Noop/run never succeeded (last HTTP ${res.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts services and one server (or the cluster), registers, waits until a call goes through. */
async function setUp(kind, nodeArgs, env = {}) {
  const stepsFile = path.join(os.tmpdir(), `bench-steps-${kind}-${process.pid}.log`);
  writeFileSync(stepsFile, "");
  const services = await startServices(stepsFile);
  const endureRoot = args["endure-root"] ? path.resolve(args["endure-root"]) : undefined;
  let database;
  if (kind === "endure-pg" || kind === "cluster") {
    pgBridge ??= await startPgBridge();
    database = await createBenchDatabase();
  }
  if (kind === "cluster") {
    return setUpCluster(services, stepsFile, database, endureRoot).catch(async (err) => {
      await services.stop();
      await database.drop();
      throw err;
    });
  }
  const server = await startServer(kind === "restate" ? "restate" : "endure", {
    nodeArgs,
    env: database ? { ...env, ENDURE_STORE: database.url } : env,
    endureRoot,
  });
  await register(server, services.url);
  const client = new Client(server.ingressUrl);
  await waitCallable(kind, client);
  return { server, services, client, stepsFile, opts, database };
}

/**
 * Three nodes on one database (lease 3 s, the default): started one after the other, the
 * services registered through the first, measured once every node answers and every node leads
 * a share of the partitions. `server` stands for the first node (its CPU and memory are the
 * ones the workloads record).
 */
async function setUpCluster(services, stepsFile, database, endureRoot) {
  const nodes = [];
  const sql = database.connect();
  try {
    for (const name of ["n1", "n2", "n3"]) {
      nodes.push(await startServer("endure", { env: { ENDURE_STORE: database.url, ENDURE_NODE_NAME: name }, endureRoot }));
    }
    await register(nodes[0], services.url);
    for (const node of nodes) await waitCallable(`cluster node ${node.ingressUrl}`, new Client(node.ingressUrl));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const rows = await sql`SELECT DISTINCT leader FROM endure.partitions`;
      if (rows.length === 3) break;
      if (Date.now() > deadline) throw new Error(`cluster: the partitions never spread over the three nodes`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    throw err;
  } finally {
    await sql.end();
  }
  const server = {
    ...nodes[0],
    pid: nodes[0].pid,
    tail: () => nodes.map((n, i) => `--- n${i + 1} ---\n${n.tail()}`).join("\n"),
    stop: () => Promise.all(nodes.map((n) => n.stop())),
    dataDirs: nodes.map((n) => n.dataDir),
  };
  const client = new RotatingClient(nodes.map((n) => n.ingressUrl));
  return { server, services, client, stepsFile, opts, database };
}

async function tearDown(ctx) {
  ctx.client.close();
  await ctx.server.stop();
  await ctx.services.stop();
  for (const dir of ctx.server.dataDirs ?? [ctx.server.dataDir]) rmSync(dir, { recursive: true, force: true });
  rmSync(ctx.stepsFile, { force: true });
  await ctx.database?.drop();
}

/** W2 on DBOS Transact in its own process (bench/dbos.mjs), on a fresh database. */
async function runDbos() {
  log("dbos: W2");
  pgBridge ??= await startPgBridge();
  const database = await createBenchDatabase();
  const out = { loadAvgAtStart: os.loadavg()[0] };
  try {
    const r = spawnSync(process.execPath, [path.join(BENCH_DIR, "dbos.mjs"), "--url", database.url, "--duration", String(opts.durationMs / 1000)], {
      encoding: "utf8",
      cwd: BENCH_DIR,
      timeout: opts.durationMs + 180_000,
    });
    const last = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !last.startsWith("{")) throw new Error(`dbos.mjs failed (${r.status ?? r.signal}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    Object.assign(out, JSON.parse(last));
  } finally {
    await database.drop();
  }
  out.loadAvgAtEnd = os.loadavg()[0];
  return out;
}

async function runServer(kind) {
  if (kind === "dbos") return runDbos();
  log(`${kind}: starting`);
  const ctx = await setUp(kind, []);
  const out = { loadAvgAtStart: os.loadavg()[0] };
  try {
    log(`${kind}: warm-up ${opts.warmupMs / 1000} s`);
    await W.warmup(ctx);
    // The cluster runs the throughput workloads only (W6 restarts one server; W2, W4, W5, W7
    // are measured on one node).
    const plan = kind === "cluster" ? [["W1", W.w1], ["W3", W.w3]] : [
      ["W1", W.w1],
      ["W2", W.w2],
      ["W3", W.w3],
      ["W4", W.w4],
      ["W5", W.w5],
      ["W7", W.w7],
      ...(args.long ? [["long", W.long]] : []),
      ["W6", W.w6],
    ];
    const skipped = new Set(args.skip.split(",").map((x) => x.trim()).filter(Boolean));
    for (const [name, fn] of plan) {
      if (skipped.has(name)) continue;
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

/**
 * Ratio columns: every Endure column over Restate's, and PostgreSQL over SQLite when both ran.
 * With Restate and SQLite only, the one column keeps its historic name `Endure/Restate`.
 */
function ratioColumns(kinds) {
  const cols = [];
  if (kinds.includes("restate")) {
    for (const k of kinds.filter((k) => k !== "restate")) cols.push({ label: kinds.length === 2 ? "Endure/Restate" : `${k}/restate`, num: k, den: "restate" });
  }
  if (kinds.includes("endure") && kinds.includes("endure-pg")) cols.push({ label: "pg/sqlite", num: "endure-pg", den: "endure" });
  if (kinds.includes("endure-pg") && kinds.includes("dbos")) cols.push({ label: "pg/dbos", num: "endure-pg", den: "dbos" });
  return cols;
}

function table(results, kinds) {
  const cols = ratioColumns(kinds);
  const header = ["metric", ...kinds.map((k) => KIND_LABELS[k] ?? k), ...cols.map((c) => c.label)];
  const rows = [];
  const ratios = {};
  for (const [label, w, field, digits] of ROWS) {
    const vals = kinds.map((k) => results[k]?.[w]?.[field]);
    if (vals.every((v) => v === undefined)) continue;
    const row = [label, ...vals.map((v) => fmt(v, digits ?? 0))];
    for (const c of cols) {
      const d = results[c.den]?.[w]?.[field];
      const n = results[c.num]?.[w]?.[field];
      const ratio = typeof d === "number" && typeof n === "number" && d !== 0 ? n / d : undefined;
      if (ratio !== undefined) ratios[cols.length === 1 ? `${w}.${field}` : `${c.label}:${w}.${field}`] = ratio;
      row.push(ratio === undefined ? "" : `${ratio.toFixed(2)}x`);
    }
    rows.push(row);
  }
  for (const [label, a, b] of LOAD_ROWS) {
    const row = [label, ...kinds.map((k) => `${fmt(results[k]?.[a], 1)} / ${fmt(results[k]?.[b], 1)}`)];
    for (const _ of cols) row.push("");
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
    stores: args.stores,
    cluster: args.cluster,
    dbos: args.dbos,
    skip: args.skip,
  };
}

async function main() {
  if (args.profile) return runProfile();
  const stores = args.stores.split(",").map((x) => x.trim());
  for (const st of stores) if (st !== "sqlite" && st !== "postgres") throw new Error(`--stores: unknown store '${st}' (sqlite, postgres)`);
  const endureKinds = [
    ...stores.map((st) => (st === "sqlite" ? "endure" : "endure-pg")),
    ...(args.cluster ? ["cluster"] : []),
    ...(args.dbos ? ["dbos"] : []),
  ];
  const kinds = args.only === "restate" ? ["restate"] : args.only === "endure" ? endureKinds : ["restate", ...endureKinds];
  const results = {};
  try {
    // One server failing (start-up or a workload) does not void the others' figures.
    for (const kind of kinds) {
      results[kind] = await runServer(kind).catch((err) => {
        log(`${kind} failed: ${err?.message ?? err}`);
        return { failed: String(err?.message ?? err).slice(0, 500) };
      });
    }
  } finally {
    await pgBridge?.kill("SIGTERM", 2000);
  }
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
