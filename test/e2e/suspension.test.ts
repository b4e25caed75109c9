// Suspension: with a short inactivity timeout the server asks a sleeping handler to suspend,
// then re-invokes it when the timer fires; the handler resumes from its journal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite({ env: { ENDURE_INACTIVITY_TIMEOUT: "300ms" } });
});

afterAll(async () => {
  await suite?.stop();
});

describe("suspension", () => {
  it("a handler sleeping past the inactivity timeout suspends and resumes without redoing steps", async () => {
    const id = uid("suspend");
    const res = await suite.call("/Sleeper/sleep", { id, ms: 2000 });
    expect(res.status, suite.logs()).toBe(200);
    const effects = await suite.effects(id);
    const enters = effects.filter((e) => e.kind === "enter");
    const before = effects.filter((e) => e.kind === "before");
    const woke = effects.filter((e) => e.kind === "woke");
    // Entered once before suspending and once (replaying) after the timer fired.
    expect(enters.length).toBeGreaterThanOrEqual(2);
    expect(before).toHaveLength(1);
    expect(woke).toHaveLength(1);
    expect(woke[0]!.t - before[0]!.t).toBeGreaterThanOrEqual(2000);
    expect(res.json).toEqual({ id, woke: woke[0]!.t });
  });

  it("several suspended invocations all resume and complete", async () => {
    const ids = [uid("s1"), uid("s2"), uid("s3"), uid("s4")];
    const sent = await Promise.all(ids.map((id) => suite.call("/Sleeper/sleep/send", { id, ms: 1000 })));
    const results = await Promise.all(
      sent.map((s) =>
        get(`${suite.endure.ingressUrl}/restate/invocation/${(s.json as { invocationId: string }).invocationId}/attach`),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results.map((r) => (r.json as { id: string }).id)).toEqual(ids);
    for (const id of ids) {
      const effects = await suite.effects(id);
      expect(effects.filter((e) => e.kind === "before")).toHaveLength(1);
      expect(effects.filter((e) => e.kind === "woke")).toHaveLength(1);
    }
  });
});
