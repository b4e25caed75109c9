// W2 on DBOS Transact, for comparison with Endure on PostgreSQL: the same workflow of ten
// sequential steps (each returns its index, as the Steps service of bench/service-defs.mjs
// does), 32 clients in a closed loop. DBOS is a library: the workflows run in this process and
// checkpoint every step in its system database. bench/run.mjs --dbos starts this script on a
// fresh database and reads the JSON line it prints last.
//
//   node bench/dbos.mjs --url postgres://… [--duration 10] [--warmup 2] [--clients 32]
import { parseArgs } from "node:util";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { closedLoop } from "./lib/load.mjs";
import { cpuSeconds } from "./lib/proc.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    clients: { type: "string", default: "32" },
  },
});
if (!args.url) throw new Error("--url postgres://… is required");

const step = async (i) => i;

const tenSteps = DBOS.registerWorkflow(
  async (n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await DBOS.runStep(() => step(i), { name: `step-${i}` });
    return sum;
  },
  { name: "tenSteps" },
);

DBOS.setConfig({ name: "endure-bench", systemDatabaseUrl: args.url, logLevel: "error" });
await DBOS.launch();
try {
  const clients = Number(args.clients);
  const send = async () => {
    const sum = await tenSteps(10);
    if (sum !== 45) throw new Error(`workflow returned ${sum}`);
  };
  await closedLoop({ clients, durationMs: Number(args.warmup) * 1000, send });
  const cpu0 = cpuSeconds(process.pid);
  const r = await closedLoop({ clients, durationMs: Number(args.duration) * 1000, send });
  const cpuS = cpuSeconds(process.pid) - cpu0;
  console.log(
    JSON.stringify({
      W2: { ok: r.ok, errors: r.errors, firstError: r.firstError, throughput: r.throughput, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, serverCpuS: cpuS },
    }),
  );
} finally {
  await DBOS.shutdown();
}
