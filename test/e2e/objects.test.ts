// Virtual objects: per-key exclusivity, shared handlers, and the state API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSuite, uid, type Effect, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

/** [start, end] times of each handler run recorded under the given ids. */
function intervals(effects: Effect[], ids: string[]): Array<{ id: string; start: number; end: number }> {
  return ids.map((id) => {
    const start = effects.find((e) => e.id === id && e.kind === "start");
    const end = effects.find((e) => e.id === id && e.kind === "end");
    if (!start || !end) throw new Error(`missing start/end for ${id}: ${JSON.stringify(effects)}`);
    return { id, start: start.t, end: end.t };
  });
}

describe("exclusive and shared handlers", () => {
  it("exclusive handlers on one key run one at a time", async () => {
    const key = uid("lock");
    const ids = [uid("w1"), uid("w2"), uid("w3")];
    const results = await Promise.all(ids.map((id) => suite.call(`/Locking/${key}/work`, { id, ms: 300 })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.json)).toEqual(ids);
    const runs = intervals(await suite.effects(), ids).sort((a, b) => a.start - b.start);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.start, `run ${runs[i]!.id} started before ${runs[i - 1]!.id} ended`).toBeGreaterThanOrEqual(
        runs[i - 1]!.end,
      );
    }
  });

  it("exclusive handlers on different keys run concurrently", async () => {
    const ids = [uid("a"), uid("b"), uid("c")];
    const results = await Promise.all(ids.map((id) => suite.call(`/Locking/${uid("key")}/work`, { id, ms: 800 })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const runs = intervals(await suite.effects(), ids);
    const latestStart = Math.max(...runs.map((r) => r.start));
    const earliestEnd = Math.min(...runs.map((r) => r.end));
    expect(latestStart).toBeLessThan(earliestEnd);
  });

  it("a shared handler runs while an exclusive handler holds the key", async () => {
    const key = uid("lock");
    const worker = uid("work");
    const peeker = uid("peek");
    const working = suite.call(`/Locking/${key}/work`, { id: worker, ms: 1500 });
    // Wait until the exclusive handler has started.
    for (let i = 0; i < 100 && (await suite.count("start", worker)) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const peek = await suite.call(`/Locking/${key}/peek`, { id: peeker, ms: 0 });
    expect(peek.status).toBe(200);
    expect(await suite.count("end", worker)).toBe(0);
    expect((await working).status).toBe(200);
    const [work, look] = intervals(await suite.effects(), [worker, peeker]);
    expect(look!.start).toBeGreaterThan(work!.start);
    expect(look!.end).toBeLessThan(work!.end);
  });

  it("shared handlers on one key run concurrently", async () => {
    const key = uid("lock");
    const ids = [uid("p1"), uid("p2"), uid("p3")];
    const results = await Promise.all(ids.map((id) => suite.call(`/Locking/${key}/peek`, { id, ms: 800 })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const runs = intervals(await suite.effects(), ids);
    expect(Math.max(...runs.map((r) => r.start))).toBeLessThan(Math.min(...runs.map((r) => r.end)));
  });
});

describe("state", () => {
  it("set then get returns the value, and state is per key", async () => {
    const key = uid("store");
    expect((await suite.call(`/Store/${key}/set`, { name: "color", value: { hex: "#ff0000" } })).status).toBe(200);
    expect((await suite.call(`/Store/${key}/get`, "color")).json).toEqual({ hex: "#ff0000" });
    expect((await suite.call(`/Store/${key}-other/get`, "color")).json).toBeNull();
  });

  it("a value written in an invocation is read back in the same invocation", async () => {
    const key = uid("store");
    expect((await suite.call(`/Store/${key}/setAndRead`, { name: "n", value: 42 })).json).toBe(42);
    expect((await suite.call(`/Store/${key}/get`, "n")).json).toBe(42);
  });

  it("stateKeys lists the keys, clear removes one, clearAll removes all", async () => {
    const key = uid("store");
    for (const name of ["b", "a", "c"]) await suite.call(`/Store/${key}/set`, { name, value: name.toUpperCase() });
    expect((await suite.call(`/Store/${key}/keys`)).json).toEqual(["a", "b", "c"]);

    expect((await suite.call(`/Store/${key}/clear`, "b")).status).toBe(200);
    expect((await suite.call(`/Store/${key}/keys`)).json).toEqual(["a", "c"]);
    expect((await suite.call(`/Store/${key}/get`, "b")).json).toBeNull();
    expect((await suite.call(`/Store/${key}/get`, "a")).json).toBe("A");

    expect((await suite.call(`/Store/${key}/clearAll`)).status).toBe(200);
    expect((await suite.call(`/Store/${key}/keys`)).json).toEqual([]);
    expect((await suite.call(`/Store/${key}/get`, "c")).json).toBeNull();
  });

  it("overwriting a value replaces it", async () => {
    const key = uid("store");
    await suite.call(`/Store/${key}/set`, { name: "v", value: [1, 2, 3] });
    await suite.call(`/Store/${key}/set`, { name: "v", value: "replaced" });
    expect((await suite.call(`/Store/${key}/get`, "v")).json).toBe("replaced");
  });
});
