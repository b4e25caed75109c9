// An upgrade onto a data directory whose records were written before the protobuf record
// format (node:v8): the server is killed mid-work, every stored record is turned into the bytes
// the earlier version wrote for it, and the restarted server carries on: state, idempotent
// results, a sleep in progress, a delayed send, and an unapplied log record at the tail.
import Database from "better-sqlite3";
import path from "node:path";
import { serialize } from "node:v8";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeCommand } from "../../src/log/index.ts";
import { decodeResult, decodeStatus, decodeTimerPayload, decodeWaiters } from "../../src/store/records.ts";
import { formatInvocationId, newInvocationId } from "../../src/types/index.ts";
import type { Command } from "../../src/worker/index.ts";
import { eventually, get, sleep, startSuite, TARGET, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  if (TARGET === "endure") suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

/** Rewrites every record of the data directory as node:v8 bytes; returns the count per table. */
function rewriteAsV8(dataDir: string): Record<string, number> {
  const db = new Database(path.join(dataDir, "endure.db"));
  const counts: Record<string, number> = {};
  const rewrite = (table: string, column: string, key: string[], toV8: (bytes: Uint8Array) => Uint8Array) => {
    const rows = db.prepare(`SELECT ${key.join(", ")}, ${column} AS bytes FROM ${table} WHERE ${column} IS NOT NULL`).all() as Record<string, unknown>[];
    const update = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${key.map((k) => `${k} = ?`).join(" AND ")}`);
    for (const row of rows) update.run(toV8(row.bytes as Uint8Array), ...key.map((k) => row[k]));
    counts[`${table}.${column}`] = rows.length;
  };
  const command = (bytes: Uint8Array) => serialize(decodeCommand(bytes));
  db.transaction(() => {
    rewrite("log", "payload", ["partition", "lsn"], command);
    rewrite("outbox", "payload", ["partition", "seq"], command);
    rewrite("invocation", "data", ["id"], (b) => serialize(decodeStatus(b)));
    rewrite("timer", "payload", ["partition", "timer_key"], (b) => serialize(decodeTimerPayload(b)));
    rewrite("promise", "result", ["service", "key", "name"], (b) => serialize(decodeResult(b)));
    rewrite("promise", "waiters", ["service", "key", "name"], (b) => serialize(decodeWaiters(b)));
  })();
  db.close();
  return counts;
}

/**
 * Appends, unapplied, a copy of the log's `Counter/<key>/add` invoke under a new invocation id,
 * in the v8 bytes of the earlier version: recovery must replay it.
 */
function appendUnappliedAdd(dataDir: string, key: string): void {
  const db = new Database(path.join(dataDir, "endure.db"));
  const rows = db.prepare("SELECT partition, lsn, payload FROM log ORDER BY partition, lsn").all() as { partition: number; lsn: number; payload: Uint8Array }[];
  const found = rows.find((r) => {
    const c = decodeCommand(r.payload).command;
    return c.kind === "invoke" && c.invocation.target.service === "Counter" && c.invocation.target.key === key && c.invocation.target.handler === "add";
  });
  if (found === undefined) throw new Error(`no invoke of Counter/${key}/add in the log`);
  const original = decodeCommand(found.payload).command as Extract<Command, { kind: "invoke" }>;
  const command: Command = {
    ...original,
    invocation: { ...original.invocation, id: formatInvocationId(newInvocationId(key)), sink: undefined, sinkMode: "result" },
  };
  const last = db.prepare("SELECT MAX(lsn) AS lsn FROM log WHERE partition = ?").get(found.partition) as { lsn: number };
  const applied = db.prepare("SELECT applied_lsn FROM fsm WHERE partition = ?").get(found.partition) as { applied_lsn: number };
  expect(last.lsn).toBe(applied.applied_lsn);
  db.prepare("INSERT INTO log (partition, lsn, payload) VALUES (?, ?, ?)").run(found.partition, last.lsn + 1, serialize({ command }));
  db.close();
}

function firstBytes(dataDir: string): Record<string, number[]> {
  const db = new Database(path.join(dataDir, "endure.db"), { readonly: true });
  const out: Record<string, number[]> = {};
  for (const [table, column] of [["log", "payload"], ["invocation", "data"], ["timer", "payload"]] as const) {
    const rows = db.prepare(`SELECT ${column} AS b FROM ${table}`).all() as { b: Uint8Array }[];
    out[table] = [...new Set(rows.map((r) => r.b[0]!))].sort((a, b) => a - b);
  }
  db.close();
  return out;
}

describe.skipIf(TARGET !== "endure")("upgrade from node:v8 records", () => {
  it("a data directory of v8 records runs on: state, idempotency, a sleep, a delayed send and the log tail", async () => {
    const key = uid("upgrade");
    const sleepId = uid("upgrade-sleep");
    const noteId = uid("upgrade-note");
    const idem = { "idempotency-key": uid("idem") };
    expect((await suite.call(`/Counter/${key}/add`, 5)).json).toBe(5);
    const stamp = await suite.call("/Echo/stamp", uid("stamp"), idem);
    expect(stamp.status).toBe(200);
    const sent = await suite.call("/Sleeper/sleep/send", { id: sleepId, ms: 3000 });
    const sleeper = (sent.json as { invocationId: string }).invocationId;
    const noteSentAt = Date.now();
    expect((await suite.call(`/Recorder/${key}/note/send?delay=3s`, noteId)).status).toBe(202);
    const before = await eventually(async () => (await suite.effects(sleepId)).find((e) => e.kind === "before"), 10_000, "the step before the sleep");
    await sleep(300);
    await suite.endure.kill("SIGKILL");

    const dataDir = suite.endure.dataDir;
    const counts = rewriteAsV8(dataDir);
    expect(counts["log.payload"]).toBeGreaterThan(0);
    expect(counts["invocation.data"]).toBeGreaterThanOrEqual(4);
    expect(counts["timer.payload"]).toBeGreaterThanOrEqual(2);
    appendUnappliedAdd(dataDir, key);
    expect(firstBytes(dataDir)).toEqual({ log: [0xff], invocation: [0xff], timer: [0xff] });

    await suite.endure.restart();

    // The unapplied add at the log's tail was replayed and ran: 5 + 5.
    await eventually(async () => ((await suite.call(`/Counter/${key}/get`)).json === 10 ? true : undefined), 15_000, "the replayed add");
    expect((await suite.call("/Echo/stamp", "other", idem)).json).toEqual(stamp.json);
    const res = await get(`${suite.endure.ingressUrl}/restate/invocation/${sleeper}/attach`);
    expect(res.status, suite.logs()).toBe(200);
    const woke = (await suite.effects(sleepId)).filter((e) => e.kind === "woke");
    expect(woke).toHaveLength(1);
    expect(woke[0]!.t).toBeGreaterThanOrEqual(before.t + 3000);
    const notes = await eventually(async () => {
      const n = (await suite.effects(noteId)).filter((e) => e.kind === "note");
      return n.length > 0 ? n : undefined;
    }, 15_000, "the delayed note");
    expect(notes).toHaveLength(1);
    expect(notes[0]!.t).toBeGreaterThanOrEqual(noteSentAt + 3000);
    expect((await suite.call(`/Counter/${key}/add`, 1)).json).toBe(11);

    // New records are written in the protobuf format, beside the old ones.
    const after = firstBytes(dataDir);
    expect(after.log).toContain(0x01);
    expect(after.invocation).toContain(0x01);
  });
});
