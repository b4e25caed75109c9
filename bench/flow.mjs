// Flow-control overhead: W1 (no-op calls, 32 closed-loop clients) against one Endure server,
// four ways in one run: no flow rule; a concurrency rule on the Noop service that never binds
// (limit 100,000 against 32 clients: the pure cost of the permit round trip); a binding limit
// (default 8); and no rule again (how much the machine drifted during the run). Ratios are to
// the mean of the two no-rule phases. Restate has no flow control to compare with.
//
//   node bench/flow.mjs [--duration 10] [--limit 8]
//
// Endure runs as `endure server` with the SDK service process over HTTP/2, as in bench/run.mjs,
// inside a loopback-only network namespace. Writes bench/results/flow-latest.json.
import { rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "./lib/http.mjs";
import { reexecInNetns } from "./lib/netns.mjs";
import { fmt, markdownTable, runMeta } from "./lib/report.mjs";
import { BENCH_DIR, register, startServer, startServices } from "./lib/servers.mjs";
import * as W from "./workloads.mjs";

const { values: args } = parseArgs({
  options: { duration: { type: "string", default: "10" }, limit: { type: "string", default: "8" } },
});
reexecInNetns(import.meta.url);

const opts = { durationMs: Number(args.duration) * 1000, warmupMs: 2000 };
const log = (msg) => console.error(`[flow ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const RULE_ID = "Noop";

async function setRule(adminUrl, body) {
  const res = body
    ? await fetch(`${adminUrl}/flow-rules/${RULE_ID}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    : await fetch(`${adminUrl}/flow-rules/${RULE_ID}`, { method: "DELETE" });
  const text = await res.text();
  if (res.status >= 300 && !(body === undefined && res.status === 404)) throw new Error(`flow rule: HTTP ${res.status} ${text}`);
}

async function main() {
  const stepsFile = path.join(os.tmpdir(), `bench-flow-steps-${process.pid}.log`);
  writeFileSync(stepsFile, "");
  const services = await startServices(stepsFile);
  const server = await startServer("endure");
  const client = new Client(server.ingressUrl);
  const ctx = { server, services, client, opts };
  const phases = [
    ["no rule", undefined],
    ["concurrency 100000 (never binds)", { concurrency: 100_000 }],
    [`concurrency ${args.limit} (binds)`, { concurrency: Number(args.limit) }],
    ["no rule, again", undefined],
  ];
  const results = [];
  try {
    await register(server, services.url);
    for (const deadline = Date.now() + 30_000; ; ) {
      const res = await client.request("POST", "/Noop/run").catch(() => ({ status: 0 }));
      if (res.status === 200) break;
      if (Date.now() > deadline) throw new Error(`Noop/run never succeeded (last HTTP ${res.status})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`warm-up ${opts.warmupMs / 1000} s`);
    await W.warmup(ctx);
    for (const [name, rule] of phases) {
      await setRule(server.adminUrl, rule);
      log(`W1, ${name}`);
      const load0 = os.loadavg()[0];
      const r = await W.w1(ctx);
      results.push({ phase: name, rule: rule ?? null, ...r, loadAvgAtStart: load0, loadAvgAtEnd: os.loadavg()[0] });
    }
    await setRule(server.adminUrl, undefined);
  } catch (err) {
    console.error(`failed: ${err.stack ?? err}\n--- server output ---\n${server.tail()}\n--- services output ---\n${services.tail()}`);
    throw err;
  } finally {
    client.close();
    await server.stop();
    await services.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
    rmSync(stepsFile, { force: true });
  }

  const base = {
    throughput: (results[0].throughput + results[3].throughput) / 2,
    p50Ms: (results[0].p50Ms + results[3].p50Ms) / 2,
    p99Ms: (results[0].p99Ms + results[3].p99Ms) / 2,
  };
  const ratio = (v, b) => `${(v / b).toFixed(2)}x`;
  const rows = results.map((r) => [
    r.phase,
    fmt(r.throughput, 0),
    ratio(r.throughput, base.throughput),
    fmt(r.p50Ms, 1),
    ratio(r.p50Ms, base.p50Ms),
    fmt(r.p99Ms, 1),
    ratio(r.p99Ms, base.p99Ms),
    fmt(r.serverCpuMsPerReq, 2),
    String(r.errors),
    `${fmt(r.loadAvgAtStart, 1)} / ${fmt(r.loadAvgAtEnd, 1)}`,
  ]);
  const header = ["W1, 32 clients", "req/s", "vs no rule", "p50 (ms)", "vs no rule", "p99 (ms)", "vs no rule", "server CPU/req (ms)", "errors", "load avg start / end"];
  console.log(`\n${markdownTable(header, rows)}\n`);
  const dir = path.join(BENCH_DIR, "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "flow-latest.json");
  writeFileSync(file, `${JSON.stringify({ meta: runMeta({ durationS: opts.durationMs / 1000 }), baseline: base, results }, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
