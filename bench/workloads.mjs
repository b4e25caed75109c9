// The workloads W1–W7 and the optional long phase. Each takes a context
// { server, services, client, opts } and returns a flat record of what it measured.
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { closedLoop, pool, summarise } from "./lib/load.mjs";
import { cpuSeconds, memMiB, sampleRss } from "./lib/proc.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` while measuring CPU of server and SDK process and the server's RSS. */
async function measured(ctx, fn) {
  const serverCpu0 = cpuSeconds(ctx.server.pid);
  const sdkCpu0 = cpuSeconds(ctx.services.pid);
  const rss = sampleRss(() => ctx.server.pid);
  const out = await fn();
  const mem = rss.stop();
  const serverCpuS = cpuSeconds(ctx.server.pid) - serverCpu0;
  const sdkCpuS = cpuSeconds(ctx.services.pid) - sdkCpu0;
  const perReq = out.ok ? { serverCpuMsPerReq: (serverCpuS * 1000) / out.ok } : {};
  return { ...out, serverCpuS, sdkCpuS, ...perReq, serverRssPeakMiB: mem.peakMiB, serverRssMeanMiB: mem.meanMiB };
}

/** A closed loop, flattened into one record. */
async function loadRecord(ctx, clients, send) {
  const r = await closedLoop({ clients, durationMs: ctx.opts.durationMs, send });
  return { ok: r.ok, errors: r.errors, firstError: r.firstError, throughput: r.throughput, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, maxMs: r.latencyMs.max };
}

/** Unmeasured warm-up so neither server is timed while its code paths are still cold. */
export async function warmup(ctx) {
  await closedLoop({ clients: 32, durationMs: ctx.opts.warmupMs, send: () => ctx.client.call("/Noop/run") });
}

/** W1: no-op handler, 32 clients. */
export const w1 = (ctx) => measured(ctx, () => loadRecord(ctx, 32, () => ctx.client.call("/Noop/run")));

/** W2: ten sequential ctx.run steps, 32 clients. */
export const w2 = (ctx) => measured(ctx, () => loadRecord(ctx, 32, () => ctx.client.call("/Steps/run", 10)));

/** W3: counter object over 100 keys, 32 clients; afterwards the counters must sum to the successes. */
export async function w3(ctx) {
  const keys = 100;
  const r = await measured(ctx, () => loadRecord(ctx, 32, () => ctx.client.call(`/Counter/k${Math.floor(Math.random() * keys)}/add`)));
  const values = await pool(Array.from({ length: keys }, (_, k) => () => ctx.client.call(`/Counter/k${k}/get`)), 16);
  const counterSum = values.reduce((a, b) => a + b, 0);
  return { ...r, counterSum, counterSumMatches: counterSum === r.ok };
}

/** W4: 1,000 one-way invocations that sleep 1 s; time until all complete and timer lateness. */
export async function w4(ctx) {
  return measured(ctx, async () => {
    const n = 1000;
    const t0 = performance.now();
    const sent = await pool(Array.from({ length: n }, () => () => ctx.client.call("/Sleeper/sleep/send", 1000)), 32);
    const sendS = (performance.now() - t0) / 1000;
    const outputs = await pool(sent.map((s) => () => ctx.client.get(`/restate/invocation/${s.invocationId}/attach`)), 200);
    const totalS = (performance.now() - t0) / 1000;
    const late = summarise(outputs.map((o) => o.woke - o.due));
    return { completed: outputs.length, sendS, totalS, latenessP50Ms: late.p50, latenessP99Ms: late.p99, latenessMaxMs: late.max };
  });
}

/** W5: a handler fanning out 100 concurrent child calls and summing them, 8 clients. */
export const w5 = (ctx) =>
  measured(ctx, () =>
    loadRecord(ctx, 8, async () => {
      const sum = await ctx.client.call("/Fanout/sum");
      if (sum !== 4950) throw new Error(`Fanout/sum returned ${sum}`);
    }),
  );

/** W7: one client, a five-step handler. */
export const w7 = (ctx) => measured(ctx, () => loadRecord(ctx, 1, () => ctx.client.call("/Steps/run", 5)));

/** Long phase: throughput after 100,000 (opts.longCount) more retained completions, versus W1 at the start. */
export async function long(ctx) {
  const target = ctx.opts.longCount;
  let done = 0;
  const t0 = performance.now();
  const pump = async () => {
    while (done < target) {
      await ctx.client.call("/Noop/run");
      done++;
    }
  };
  await Promise.all(Array.from({ length: 32 }, pump));
  const fillS = (performance.now() - t0) / 1000;
  const after = await w1(ctx);
  return { retainedAdded: done, fillS, fillThroughput: done / fillS, ...after, serverRssAfterMiB: memMiB(ctx.server.pid, "VmRSS") };
}

/**
 * W6: 200 invocations of five steps with a 500 ms sleep after step 2, started 5 ms apart. Once half of them have
 * run step 3 the server is killed with SIGKILL and restarted on the same data; we time the
 * restart until all 200 are complete and count steps that executed more than once.
 */
export async function w6(ctx) {
  const n = 200;
  const file = ctx.stepsFile;
  writeFileSync(file, "");
  const readSteps = () =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "));
  // Paced sends (one every 5 ms) spread the invocations over a second, so at the kill some
  // are before, some in and some past their sleep.
  const start = performance.now();
  const sent = await pool(
    Array.from({ length: n }, (_, i) => async () => {
      const wait = start + i * 5 - performance.now();
      if (wait > 0) await sleep(wait);
      return ctx.client.call("/Crash/run/send", `w6-${i}`);
    }),
    32,
  );
  const deadline = Date.now() + 60_000;
  let passed = 0;
  for (;;) {
    passed = new Set(readSteps().filter(([, s]) => s === "3").map(([id]) => id)).size;
    if (passed >= n / 2) break;
    if (Date.now() > deadline) throw new Error(`W6: only ${passed} invocations passed the sleep within 60 s`);
    await sleep(5);
  }
  const killedPid = ctx.server.pid;
  const serverPeakRssMiB = memMiB(killedPid, "VmHWM");
  const serverLifetimeCpuS = cpuSeconds(killedPid);
  await ctx.server.crash();
  const completedBeforeKill = new Set(readSteps().filter(([, s]) => s === "5").map(([id]) => id)).size;
  const t0 = performance.now();
  await ctx.server.restart();
  const healthyS = (performance.now() - t0) / 1000;
  const outputs = await pool(sent.map((s) => () => ctx.client.get(`/restate/invocation/${s.invocationId}/attach`)), n);
  const recoveryS = (performance.now() - t0) / 1000;
  const counts = new Map();
  for (const [id, s] of readSteps()) counts.set(`${id} ${s}`, (counts.get(`${id} ${s}`) ?? 0) + 1);
  let stepsRanTwice = 0;
  let extraExecutions = 0;
  for (const c of counts.values()) {
    if (c > 1) {
      stepsRanTwice++;
      extraExecutions += c - 1;
    }
  }
  const allComplete = outputs.length === n && outputs.every((o, i) => o === `w6-${i}`) && counts.size === n * 5;
  return {
    invocations: n,
    passedSleepAtKill: passed,
    completedBeforeKill,
    restartToHealthyS: healthyS,
    recoveryS,
    stepsRanTwice,
    extraExecutions,
    allComplete,
    recoveryServerCpuS: cpuSeconds(ctx.server.pid),
    serverPeakRssBeforeKillMiB: serverPeakRssMiB,
    serverCpuBeforeKillS: serverLifetimeCpuS,
  };
}
