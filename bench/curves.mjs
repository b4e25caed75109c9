// Cost curves: how a server's costs grow with what it holds. Each curve starts a fresh server
// (Endure and, where it applies, Restate's server) with the bench SDK services, grows one kind
// of held work step by step, and measures at every step. Runs inside `unshare -n` like
// bench/run.mjs. Prints one table per curve and writes bench/results/curves-latest.json.
//
//   node bench/curves.mjs [--only restate|endure] [--curves history,timers,journal,state,keys,retention]
//                         [--history 0,100000,1000000] [--timers 10000,100000] [--steps 1000,10000]
//                         [--keys 1000000] [--retained 100000] [--duration 10] [--fill-budget S]
//                         [--endure-root DIR] [--out FILE]
//
// --fill-budget  seconds any one fill may take (default 1200); a fill stopped by it records the
//                count it reached
// --endure-root  runs Endure from another checkout, e.g. one built with `npm run build` whose
//                src/ was removed so that bin/endure.js runs dist/ (no TypeScript compile at start)
//
// history    W1 throughput, p99, RSS, disk and restart-to-healthy after N completed invocations
// timers     N invocations sleeping until one common instant: RSS, restart-to-healthy, lateness
// journal    one invocation of N steps: per-step latency at the start and end; resume after kill -9
// state      one virtual object with 10k keys / 10 MiB of state: get/set latency, empty vs full
// keys       N distinct object keys touched once: throughput per stretch, RSS, disk
// retention  (Endure) N invocations with a short retention: disk before and after they expire,
//            and after a second round (are freed pages reused?)
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client } from "./lib/http.mjs";
import { closedLoop, pool, summarise } from "./lib/load.mjs";
import { reexecInNetns } from "./lib/netns.mjs";
import { memMiB } from "./lib/proc.mjs";
import { BENCH_DIR, register, restateVersion, startServer, startServices } from "./lib/servers.mjs";

reexecInNetns(import.meta.url);

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    curves: { type: "string", default: "history,timers,journal,state,keys,retention" },
    history: { type: "string", default: "0,100000,1000000" },
    timers: { type: "string", default: "10000,100000" },
    steps: { type: "string", default: "1000,10000" },
    keys: { type: "string", default: "1000000" },
    retained: { type: "string", default: "100000" },
    duration: { type: "string", default: "10" },
    "fill-budget": { type: "string", default: "1200" },
    "endure-root": { type: "string" },
    out: { type: "string" },
  },
});

const list = (s) => s.split(",").filter(Boolean).map(Number);
const durationMs = Number(args.duration) * 1000;
const fillBudgetMs = Number(args["fill-budget"]) * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.error(`[curves ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const load = () => Number(os.loadavg()[0].toFixed(2));
/** Concurrency used to fill a server with work: enough to keep both processes busy. */
const FILL_CLIENTS = 64;

/** Bytes of every file under `dir` (the server's whole data directory). */
function diskBytes(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    try {
      if (e.isDirectory()) total += diskBytes(p);
      else if (e.isFile()) total += statSync(p).size;
    } catch {
      // A file removed while we walk (RocksDB compaction, WAL checkpoint) counts as gone.
    }
  }
  return total;
}
const MiB = (b) => b / 2 ** 20;

/** Starts services and one server, registers, waits until a call goes through. */
async function setUp(kind) {
  const stepsFile = path.join(os.tmpdir(), `curves-steps-${kind}-${process.pid}.log`);
  writeFileSync(stepsFile, "");
  const services = await startServices(stepsFile);
  const endureRoot = args["endure-root"] ? path.resolve(args["endure-root"]) : undefined;
  const server = await startServer(kind, { endureRoot, healthyTimeoutMs: 300_000 });
  await register(server, services.url);
  const client = new Client(server.ingressUrl);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await client.request("POST", "/Noop/run").catch(() => ({ status: 0 }));
    if (res.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${kind}: Noop/run never succeeded (last HTTP ${res.status})`);
    await sleep(100);
  }
  return { kind, server, services, client, stepsFile };
}

async function tearDown(ctx) {
  ctx.client.close();
  await ctx.server.stop();
  await ctx.services.stop();
  rmSync(ctx.server.dataDir, { recursive: true, force: true });
  rmSync(ctx.stepsFile, { force: true });
}

/** The output of an invocation, waiting for it as long as it takes (up to half an hour). */
async function attach(ctx, id) {
  const res = await ctx.client.request("GET", `/restate/invocation/${id}/attach`, undefined, {}, 30 * 60_000);
  if (res.status !== 200) throw new Error(`attach ${id}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body);
}

/** kill -9, then the time until the restarted server answers both health checks. */
async function crashRestart(ctx) {
  await ctx.server.crash();
  const t0 = performance.now();
  await ctx.server.restart();
  return (performance.now() - t0) / 1000;
}

/**
 * Runs `count` requests produced by `send(i)` with FILL_CLIENTS in flight, stopping early once
 * --fill-budget seconds have passed (on a loaded machine); returns {done, rate} (req/s).
 */
async function fill(count, send, onProgress, budgetMs = fillBudgetMs) {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      await send(i);
      done++;
      if (onProgress && done % 10_000 === 0) onProgress(done, (performance.now() - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: FILL_CLIENTS }, worker));
  return { done, rate: done / ((performance.now() - t0) / 1000 || 1) };
}

// ---- curves ----

/** Retained history: after each level of completed no-op invocations, W1, RSS, disk, restart. */
async function history(ctx) {
  const rows = [];
  let completed = 0;
  for (const level of list(args.history)) {
    let fillRate;
    if (level > completed) {
      log(`${ctx.kind} history: filling to ${level}`);
      const f = await fill(level - completed, () => ctx.client.call("/Noop/run"), (d, s) =>
        log(`${ctx.kind} history: +${d} in ${s.toFixed(0)} s`),
      );
      fillRate = f.rate;
      completed += f.done;
      if (completed < level) log(`${ctx.kind} history: fill budget spent at ${completed} of ${level}`);
    }
    const w1 = await closedLoop({ clients: 32, durationMs, send: () => ctx.client.call("/Noop/run") });
    completed += w1.ok;
    const rssMiB = memMiB(ctx.server.pid, "VmRSS");
    const diskMiB = MiB(diskBytes(ctx.server.dataDir));
    const restartS = await crashRestart(ctx);
    // Wait for one call so the RSS after restart includes whatever start-up loads.
    await ctx.client.call("/Noop/run");
    const rssAfterRestartMiB = memMiB(ctx.server.pid, "VmRSS");
    const row = {
      completed,
      fillReqS: fillRate,
      w1ReqS: w1.throughput,
      w1P50Ms: w1.latencyMs.p50,
      w1P99Ms: w1.latencyMs.p99,
      rssMiB,
      diskMiB,
      restartToHealthyS: restartS,
      rssAfterRestartMiB,
      load: load(),
    };
    log(`${ctx.kind} history ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return rows;
}

/** Pending timers: N invocations sleeping until one instant; restart while they sleep. */
async function timers(ctx) {
  const rows = [];
  for (const n of list(args.timers)) {
    // Calibrate the send rate so the common instant falls after the sends and the restart.
    const c0 = performance.now();
    await pool(Array.from({ length: 500 }, () => () => ctx.client.call("/Alarm/until/send", 0)), FILL_CLIENTS);
    const rate = 500 / ((performance.now() - c0) / 1000);
    const at = Date.now() + Math.ceil(Math.min((n / rate) * 1.5 * 1000, fillBudgetMs)) + 30_000;
    log(`${ctx.kind} timers: sending ${n} (about ${(n / rate).toFixed(0)} s), all due at +${((at - Date.now()) / 1000).toFixed(0)} s`);
    const rssBeforeMiB = memMiB(ctx.server.pid, "VmRSS");
    const t0 = performance.now();
    const ids = new Array(n);
    const sent = await fill(n, async (i) => {
      ids[i] = (await ctx.client.call("/Alarm/until/send", at)).invocationId;
    });
    ids.length = sent.done;
    const sendS = (performance.now() - t0) / 1000;
    // Give the last sends time to reach their sleep.
    await sleep(2000);
    const rssSleepingMiB = memMiB(ctx.server.pid, "VmRSS");
    const restartS = await crashRestart(ctx);
    const rssAfterRestartMiB = memMiB(ctx.server.pid, "VmRSS");
    const marginS = (at - Date.now()) / 1000;
    if (marginS < 0) log(`${ctx.kind} timers: WARNING the timers came due ${-marginS.toFixed(1)} s before the restart finished`);
    // Attach once they are due (an attach waits for the output; many sleeping for minutes
    // would only hold sockets), and give the slowest as long as it takes.
    if (marginS > 0) await sleep(marginS * 1000);
    const outputs = await pool(ids.map((id) => () => attach(ctx, id)), 256);
    const late = summarise(outputs.map((o) => o.woke - o.due));
    const row = {
      timers: sent.done,
      sendS,
      rssBeforeMiB,
      rssSleepingMiB,
      restartToHealthyS: restartS,
      rssAfterRestartMiB,
      marginBeforeDueS: marginS,
      allDoneAfterDueS: (Date.now() - at) / 1000,
      latenessP50Ms: late.p50,
      latenessP99Ms: late.p99,
      latenessMaxMs: late.max,
      load: load(),
    };
    log(`${ctx.kind} timers ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return rows;
}

/** Median of the step-to-step gaps in `times[from..to)`. */
function stepGapMs(times, from, to) {
  const gaps = [];
  for (let i = Math.max(1, from); i < to; i++) gaps.push(times[i] - times[i - 1]);
  return summarise(gaps);
}

/** Long journals: per-step latency at the start and end of one N-step invocation; resume after kill -9. */
async function journal(ctx) {
  const rows = [];
  for (const n of list(args.steps)) {
    const t0 = performance.now();
    const times = await attach(ctx, (await ctx.client.call("/LongJournal/run/send", { n })).invocationId);
    const totalS = (performance.now() - t0) / 1000;
    const window = Math.min(100, Math.floor(n / 10));
    const first = stepGapMs(times, 1, window + 1);
    const last = stepGapMs(times, n - window, n);

    // The same again, killed half-way: time from the restart until it completes.
    const tag = `j${n}`;
    writeFileSync(ctx.stepsFile, "");
    const { invocationId } = await ctx.client.call("/LongJournal/run/send", { n, tag });
    for (;;) {
      const lines = readFileSync(ctx.stepsFile, "utf8").split("\n").filter((l) => l.startsWith(`${tag} `));
      if (lines.length >= n / 2) break;
      await sleep(20);
    }
    await ctx.server.crash();
    const r0 = performance.now();
    await ctx.server.restart();
    const healthyS = (performance.now() - r0) / 1000;
    const out = await attach(ctx, invocationId);
    const resumeS = (performance.now() - r0) / 1000;
    const row = {
      steps: n,
      totalS,
      firstStepsP50Ms: first.p50,
      firstStepsMeanMs: first.mean,
      lastStepsP50Ms: last.p50,
      lastStepsMeanMs: last.mean,
      restartToHealthyS: healthyS,
      resumeToDoneS: resumeS,
      resumedComplete: Array.isArray(out) && out.length === n,
      load: load(),
    };
    log(`${ctx.kind} journal ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return rows;
}

/** Large state: get/set latency on one object, empty and then holding 10k keys / 10 MiB. */
async function state(ctx) {
  const keys = 10_000;
  const size = 1024;
  const measure = async (label) => {
    const get = await closedLoop({ clients: 1, durationMs: durationMs / 2, send: (_c, i) => ctx.client.call("/BigState/big/get", `k${i % keys}`) });
    const set = await closedLoop({
      clients: 1,
      durationMs: durationMs / 2,
      send: (_c, i) => ctx.client.call("/BigState/big/set", { key: `k${i % keys}`, value: "y".repeat(size) }),
    });
    const row = {
      object: label,
      getP50Ms: get.latencyMs.p50,
      getP99Ms: get.latencyMs.p99,
      setP50Ms: set.latencyMs.p50,
      setP99Ms: set.latencyMs.p99,
      rssMiB: memMiB(ctx.server.pid, "VmRSS"),
      load: load(),
    };
    log(`${ctx.kind} state ${JSON.stringify(row)}`);
    return row;
  };
  const rows = [await measure("empty")];
  // 100 keys per invocation: 100 invocations of 100 KiB of state writes each.
  const per = 100;
  for (let from = 0; from < keys; from += per) await ctx.client.call("/BigState/big/fill", { from, to: from + per, size });
  rows.push(await measure(`${keys} keys / ${MiB(keys * size).toFixed(0)} MiB`));
  return rows;
}

/** Many keys: N distinct object keys touched once; throughput per stretch, RSS and disk. */
async function keys(ctx) {
  const n = list(args.keys)[0];
  const rows = [];
  const stretch = Math.max(10_000, Math.floor(n / 10));
  const deadline = performance.now() + fillBudgetMs;
  for (let from = 0; from < n; from += stretch) {
    const count = Math.min(stretch, n - from);
    const f = await fill(count, (i) => ctx.client.call(`/Counter/key-${from + i}/add`), undefined, deadline - performance.now());
    const row = { keysTouched: from + f.done, reqS: f.rate, rssMiB: memMiB(ctx.server.pid, "VmRSS"), diskMiB: MiB(diskBytes(ctx.server.dataDir)), load: load() };
    log(`${ctx.kind} keys ${JSON.stringify(row)}`);
    rows.push(row);
    if (f.done < count) break;
  }
  const restartS = await crashRestart(ctx);
  rows.at(-1).restartToHealthyS = restartS;
  return rows;
}

/**
 * Retention (Endure): N no-op invocations kept for a short retention; disk while retained, once
 * the retention ended and the cleaner ran, and after a second round of N (freed pages reused).
 */
async function retention(ctx) {
  const n = list(args.retained)[0];
  const retentionS = 30;
  const res = await fetch(`${ctx.server.adminUrl}/services/Noop`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ idempotency_retention: `${retentionS}s` }),
  });
  if (!res.ok) throw new Error(`PATCH /services/Noop: HTTP ${res.status} ${await res.text()}`);
  const retained = async () => {
    // Introspection may refuse while the server is busy: ask again.
    for (let attempt = 0; ; attempt++) {
      const r = await fetch(`${ctx.server.adminUrl}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: "SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'Noop'" }),
      }).catch((err) => ({ ok: false, text: async () => String(err) }));
      const text = await r.text();
      const n = r.ok ? Number(JSON.parse(text).rows?.[0]?.n) : Number.NaN;
      if (Number.isFinite(n)) return n;
      if (attempt >= 30) throw new Error(`retention: cannot count retained invocations: ${text.slice(0, 200)}`);
      await sleep(2000);
    }
  };
  // Invocations from before the change (the set-up call) keep the default retention of a day.
  const baseline = await retained();
  const waitExpired = async () => {
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const left = (await retained()) - baseline;
      if (left <= 0) return;
      if (Date.now() > deadline) throw new Error(`retention: ${left} invocations still retained after 10 min`);
      await sleep(2000);
    }
  };
  const rows = [];
  const snap = async (phase) => {
    const files = readdirSync(ctx.server.dataDir);
    const fileMiB = (suffix) => MiB(files.filter((f) => f.endsWith(suffix)).reduce((a, f) => a + statSync(path.join(ctx.server.dataDir, f)).size, 0));
    const row = { phase, retained: await retained(), diskMiB: MiB(diskBytes(ctx.server.dataDir)), dbMiB: fileMiB(".db"), walMiB: fileMiB("-wal"), rssMiB: memMiB(ctx.server.pid, "VmRSS"), load: load() };
    log(`${ctx.kind} retention ${JSON.stringify(row)}`);
    rows.push(row);
  };
  await snap("start");
  for (const round of [1, 2]) {
    const f = await fill(n, () => ctx.client.call("/Noop/run"));
    await snap(`round ${round}: ${f.done} completed`);
    await waitExpired();
    // One more cleaner pass after the last purge (the cleaner runs on its own schedule).
    await sleep(5000);
    await snap(`round ${round}: retention expired`);
  }
  return rows;
}

const CURVES = { history, timers, journal, state, keys, retention };
/** Curves Restate is not run through: its retention of no-op calls works differently. */
const ENDURE_ONLY = new Set(["retention"]);

async function main() {
  const kinds = args.only ? [args.only] : ["endure", "restate"];
  const chosen = args.curves.split(",").filter(Boolean);
  for (const c of chosen) if (!CURVES[c]) throw new Error(`unknown curve ${c}; known: ${Object.keys(CURVES).join(", ")}`);
  const outFile = args.out ? path.resolve(args.out) : path.join(BENCH_DIR, "results", "curves-latest.json");
  mkdirSync(path.dirname(outFile), { recursive: true });
  const results = { meta: { date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, restateServer: restateVersion(), loadAtStart: load() } };
  const save = () => writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  for (const kind of kinds) {
    results[kind] = {};
    for (const curve of chosen) {
      if (kind === "restate" && ENDURE_ONLY.has(curve)) continue;
      log(`${kind}: ${curve}`);
      const ctx = await setUp(kind);
      try {
        results[kind][curve] = await CURVES[curve](ctx);
      } catch (err) {
        console.error(`${kind} ${curve} failed: ${err.stack ?? err}\n--- server ---\n${ctx.server.tail()}\n--- services ---\n${ctx.services.tail()}`);
        results[kind][curve] = { error: String(err.message ?? err) };
      } finally {
        await tearDown(ctx);
      }
      save();
    }
  }
  results.meta.loadAtEnd = load();
  save();
  for (const kind of kinds) {
    for (const [curve, rows] of Object.entries(results[kind])) {
      console.log(`\n${kind} — ${curve}`);
      if (Array.isArray(rows)) console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? Number(v.toFixed(2)) : v]))));
      else console.log(rows);
    }
  }
  console.log(`\nresults written to ${path.relative(process.cwd(), outFile)}`);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
