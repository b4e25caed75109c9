// Combinators (all, race, any, allSettled, orTimeout) over calls, sleeps, awakeables and runs,
// on the bidirectional HTTP/2 endpoint and on a request/response HTTP/1.1 endpoint, where every
// await of an uncompleted result is a suspension.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, startServices, startSuite, uid, type ServicesProcess, type Suite } from "../../harness/index.ts";
import { admin, invocationIdOf, waitForStatus } from "./helpers.ts";

let suite: Suite;
let rr: ServicesProcess;

beforeAll(async () => {
  // A short inactivity timeout: bidirectional handlers waiting on timers suspend too.
  suite = await startSuite({ env: { ENDURE_INACTIVITY_TIMEOUT: process.env.ENDURE_INACTIVITY_TIMEOUT ?? "200ms" } });
  rr = await startServices("test/services/semantics-rr.ts", { EFFECTS_FILE: suite.effectsFile });
  const res = await admin(suite.endure.adminUrl, "POST", "/deployments", { uri: rr.url, use_http_11: true });
  if (res.status !== 201) throw new Error(`register request/response endpoint: ${res.status} ${res.text}`);
});

afterAll(async () => {
  await rr?.stop();
  await suite?.stop();
});

for (const [transport, service] of [
  ["bidirectional", "SemCombo"],
  ["request/response", "RrCombo"],
] as const) {
  describe(`combinators (${transport})`, () => {
    const run = async (handler: string): Promise<{ id: string; json: unknown; enters: number; steps: number }> => {
      const id = uid(handler);
      const res = await suite.call(`/${service}/${handler}`, { id });
      expect(res.status, `${res.text}\n${suite.logs()}`).toBe(200);
      return { id, json: res.json, enters: await suite.count("enter", id), steps: await suite.count("step", id) };
    };

    it("all over a call, a sleep, a run and an awakeable", async () => {
      const r = await run("all");
      expect(r.json).toEqual(["call", "sleep", "run", "awakeable"]);
      expect(r.steps).toBe(1);
      expect(r.enters).toBeGreaterThanOrEqual(2);
    });

    it("race: a short call beats a long sleep", async () => {
      const r = await run("race");
      expect(r.json).toBe("call");
    });

    it("any: the first success wins over an earlier failure", async () => {
      expect((await run("any")).json).toBe("late-ok");
    });

    it("any: when everything fails the handler sees the failure", async () => {
      expect((await run("anyFails")).json).toBe("all failed:AggregateError");
    });

    it("allSettled over a failing call, a succeeding call and a sleep", async () => {
      expect((await run("allSettled")).json).toEqual(["err:boom", "ok:ok", "ok:slept"]);
    });

    it("orTimeout: an unresolved awakeable times out with 408, a fast call does not", async () => {
      expect((await run("timeouts")).json).toEqual(["timeout:408", "in time"]);
    });

    it("race of an awakeable and a sleep, then a run after resuming", async () => {
      const r = await run("raceAwakeable");
      expect(r.json).toBe("timer+run");
      expect(r.steps).toBe(1);
      expect(r.enters).toBeGreaterThanOrEqual(2);
    });
  });
}

describe("request/response endpoint", () => {
  it("replays the journal sent in the request and continues across suspensions", async () => {
    const id = uid("rr");
    const res = await suite.call("/RrSleeper/twice", { id, ms: 300 });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual(["one", "two", "done"]);
    const effects = await suite.effects(id);
    expect(effects.filter((e) => e.kind === "step").map((e) => e.step)).toEqual([1, 2]);
    // Each run result needs the server's acknowledgement and each sleep its timer, and in this
    // mode nothing arrives during a request: start, then one re-invocation after each of the
    // two runs and the two sleeps.
    expect(effects.filter((e) => e.kind === "enter").length).toBe(5);
  });

  it("cancel reaches a suspended request/response invocation", async () => {
    const id = uid("rr");
    const sent = await suite.call("/RrSleeper/twice/send", { id, ms: 5000 });
    const inv = invocationIdOf(sent);
    await eventually(async () => ((await suite.count("step", id)) > 0 ? true : undefined));
    await waitForStatus(suite.endure.adminUrl, inv, "suspended");
    expect((await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/cancel`)).status).toBe(202);
    const out = await get(`${suite.endure.ingressUrl}/restate/invocation/${inv}/attach`);
    expect(out.status, out.text).toBe(409);
    expect(out.json).toMatchObject({ code: 409, message: "Cancelled" });
    expect(await suite.count("step", id)).toBe(1);
  });

  it("the deployment is registered as HTTP/1.1 request/response", async () => {
    const res = await admin(suite.endure.adminUrl, "GET", "/deployments");
    const deployments = (res.json as { deployments: Array<Record<string, unknown>> }).deployments;
    const mine = deployments.find((d) => String(d.uri).replace(/\/$/, "") === rr.url);
    expect(mine, res.text).toBeDefined();
    expect(mine).toMatchObject({ http_version: "HTTP/1.1", protocol_type: "RequestResponse" });
  });
});
