// Server CPU per call of Endure's own path, without HTTP and without the SDK: the commit loop
// (src/worker) on a real SQLite file in a temp directory (WAL, flushed with fdatasync), driven
// with the commands an attempt sends. Measures process CPU (user+system) per call, commits and
// log records per call, for
//   W1: a no-op call (invoke, Output, End), 32 at a time;
//   W5: a fan-out call (a parent calls Child 100 times, each child ends with an output; the
//       parent ends once it has every response), 8 at a time, with outbox messages delivered by
//       the node's Shuffle as in the server.
// On a loaded machine wall-clock numbers move a lot; CPU per call and the counts much less.
//
//   node bench/micro/worker.mjs [--root DIR] [--w1 N] [--w5 N]
// --root runs the src/ of another checkout (e.g. the commit before a change) for an A/B pair.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
const { values: args } = parseArgs({
  options: { root: { type: "string" }, w1: { type: "string", default: "6000" }, w5: { type: "string", default: "40" } },
});
const root = path.resolve(args.root ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "../.."));
const src = (p) => import(path.join(root, "src", p));
const { Worker } = await src("worker/index.ts");
const { Partitioner } = await src("sharding/index.ts");
const { SqlitePartitionStore, openSqlite } = await src("store/index.ts");
const { formatInvocationId, newInvocationId } = await src("types/index.ts");
const { MessageType, pb } = await src("protocol/index.ts");
const { Shuffle } = await src("node/shuffle.ts");
const { create, toBinary } = await import("@bufbuild/protobuf");
const { pino } = await import("pino");

const logger = pino({ level: "silent" });
const partitioner = new Partitioner(24);
const target = (service, handler) => ({
  service, handler, key: undefined, serviceType: "SERVICE", handlerType: undefined, deploymentId: "dp_1", retentionMs: 86_400_000,
});
const noop = target("Noop", "run");
const fanout = target("Fanout", "sum");
const child = target("Child", "value");
const input = toBinary(pb.InputCommandMessageSchema, create(pb.InputCommandMessageSchema, { value: { content: new Uint8Array(2) } }));
const output = toBinary(
  pb.OutputCommandMessageSchema,
  create(pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: new TextEncoder().encode("42") } } }),
);

function setUp() {
  const dir = mkdtempSync(path.join(tmpdir(), "endure-micro-worker-"));
  const db = openSqlite(path.join(dir, "endure.db"));
  const store = new SqlitePartitionStore(db);
  let commits = 0;
  const commit = store.commit.bind(store);
  store.commit = (fn) => {
    commits += 1;
    return commit(fn);
  };
  /** Per invocation: what to do with the actions that concern it. */
  const onInvoke = new Map();
  const onNotify = new Map();
  const answers = new Map();
  let requestIds = 0;
  const worker = new Worker(store, partitioner, (actions) => {
    for (const a of actions) {
      if (a.kind === "shuffle") shuffle.deliver(a.partition, a.seq, a.message);
      // An invocation nobody waits for by id is a child of a fan-out: it ends at once.
      else if (a.kind === "invoke") (onInvoke.get(a.id) ?? ((c) => void finish(c.id, c.partition, 1)))(a);
      else if (a.kind === "notify") onNotify.get(a.id)?.(a);
      else if (a.kind === "answer") answers.get(a.sink.requestId)?.(a.answer);
    }
  }, logger);
  const shuffle = new Shuffle((p, c) => worker.submit(p, c), logger, () => worker.writable());
  for (let p = 0; p < 24; p++) shuffle.resume(p, 1);
  const call = (t, whenInvoked) => {
    const id = formatInvocationId(newInvocationId(undefined));
    const p = partitioner.partitionOfInvocation(id);
    const requestId = ++requestIds;
    return new Promise((resolve, reject) => {
      answers.set(requestId, () => {
        answers.delete(requestId);
        onInvoke.delete(id);
        onNotify.delete(id);
        resolve();
      });
      onInvoke.set(id, () => whenInvoked(id, p).catch(reject));
      worker.submit(p, {
        kind: "invoke",
        invocation: { id, target: t, inputEntry: input, idempotencyKey: undefined, executeAt: undefined, createdAt: Date.now(), sink: { kind: "ingress", node: "n", requestId }, sinkMode: "result" },
      }).catch(reject);
    });
  };
  /** The end of an attempt: its output and End, sent together as the SDK does. */
  const finish = (id, p, commandIndex) =>
    Promise.all([
      worker.submit(p, { kind: "journal-command", id, commandIndex, type: MessageType.OutputCommand, body: output, now: Date.now() }),
      worker.submit(p, { kind: "end", id, now: Date.now() }),
    ]);
  return { dir, db, store, worker, shuffle, call, finish, onNotify, onInvoke, commits: () => commits };
}

async function measure(name, total, concurrency, one, env) {
  const logBefore = countLog(env.db);
  const commitsBefore = env.commits();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let started = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < total) {
      started += 1;
      await one();
    }
  }));
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return {
    name,
    calls: total,
    perSecond: (total / wall) * 1000,
    cpuMsPerCall: cpuMs / total,
    commitsPerCall: (env.commits() - commitsBefore) / total,
    logRecordsPerCall: (countLog(env.db) - logBefore) / total,
  };
}

function countLog(db) {
  // Applied records are trimmed to a tail; the sum of applied LSNs counts every record ever.
  return db.prepare("SELECT COALESCE(SUM(applied_lsn), 0) AS n FROM fsm").get().n;
}

const env = setUp();
const w1 = () => env.call(noop, (id, p) => env.finish(id, p, 1));
const w5 = () =>
  env.call(fanout, async (id, p) => {
    let responses = 0;
    const all = new Promise((resolve) => {
      env.onNotify.set(id, (a) => {
        if (a.type === MessageType.CallCompletionNotification && ++responses === 100) resolve();
      });
    });
    const calls = [];
    for (let i = 0; i < 100; i++) {
      const body = toBinary(
        pb.CallCommandMessageSchema,
        create(pb.CallCommandMessageSchema, { serviceName: "Child", handlerName: "value", parameter: new Uint8Array(1), invocationIdNotificationIdx: 2 * i + 1, resultCompletionId: 2 * i + 2 }),
      );
      calls.push(env.worker.submit(p, { kind: "journal-command", id, commandIndex: i + 1, type: MessageType.CallCommand, body, now: Date.now(), callee: child }));
    }
    await Promise.all(calls);
    await all;
    await env.finish(id, p, 101);
  });
await measure("warm-up", 500, 32, w1, env);
const results = [await measure("W1 no-op", Number(args.w1), 32, w1, env), await measure("W5 fan-out 100", Number(args.w5), 8, w5, env)];
await env.worker.close();
env.shuffle.close();
await env.store.close();
rmSync(env.dir, { recursive: true, force: true });
console.log(`root ${root}`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(16)} ${String(r.calls).padStart(6)} calls  ${r.perSecond.toFixed(1).padStart(8)}/s  ` +
      `CPU ${r.cpuMsPerCall.toFixed(3)} ms/call  commits ${r.commitsPerCall.toFixed(2)}/call  log records ${r.logRecordsPerCall.toFixed(1)}/call`,
  );
}
