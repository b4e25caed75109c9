// Awakeables and named signals: completed from another handler or over HTTP, rejected,
// malformed ids, and completions that arrive before the handler awaits them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, eventually, get, startSuite, uid, type Suite } from "../../harness/index.ts";
import { invocationIdOf } from "./helpers.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

/** Starts SemAwake/<handler> with `req` and returns its invocation id and the published field. */
async function start(handler: string, req: Record<string, unknown>, kind: string, field: string): Promise<{ invocationId: string; published: string }> {
  const sent = await suite.call(`/SemAwake/${handler}/send`, req);
  expect(sent.status, sent.text).toBe(202);
  const published = await eventually(async () => {
    const effect = (await suite.effects(req.id as string)).find((e) => e.kind === kind);
    return effect?.[field] as string | undefined;
  });
  return { invocationId: invocationIdOf(sent), published };
}

const attach = (invocationId: string) => get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`);

describe("awakeables", () => {
  it("resolved from another handler", async () => {
    const id = uid("awk");
    const { invocationId, published: awk } = await start("wait", { id }, "awk", "awk");
    expect(awk).toMatch(/^sign_1/);
    expect((await suite.call("/SemAwake/resolve", { awk, value: "hello" })).json).toBe("ok");
    expect((await attach(invocationId)).json).toBe("resolved:hello");
  });

  it("rejected from another handler", async () => {
    const id = uid("awk");
    const { invocationId, published: awk } = await start("wait", { id }, "awk", "awk");
    await suite.call("/SemAwake/reject", { awk, reason: "nope" });
    expect((await attach(invocationId)).json).toBe("rejected:nope");
  });

  it("resolved over HTTP: POST /restate/awakeables/{id}/resolve", async () => {
    const id = uid("awk");
    const { invocationId, published: awk } = await start("wait", { id }, "awk", "awk");
    const res = await suite.call(`/restate/awakeables/${awk}/resolve`, "from http");
    expect(res.status, res.text).toBe(202);
    expect((await attach(invocationId)).json).toBe("resolved:from http");
  });

  it("rejected over HTTP: POST /restate/awakeables/{id}/reject with a text reason", async () => {
    const id = uid("awk");
    const { invocationId, published: awk } = await start("wait", { id }, "awk", "awk");
    const res = await call(suite.endure.ingressUrl, `/restate/awakeables/${awk}/reject`, undefined, { "content-type": "text/plain" }, { raw: "http says no" });
    expect(res.status, res.text).toBe(202);
    expect((await attach(invocationId)).json).toBe("rejected:http says no");
  });

  it("completing an awakeable a second time is accepted and ignored", async () => {
    const id = uid("awk");
    const { invocationId, published: awk } = await start("wait", { id }, "awk", "awk");
    expect((await suite.call(`/restate/awakeables/${awk}/resolve`, "one")).status).toBe(202);
    expect((await attach(invocationId)).json).toBe("resolved:one");
    expect((await suite.call(`/restate/awakeables/${awk}/resolve`, "two")).status).toBe(202);
    expect((await suite.call(`/restate/awakeables/${awk}/reject`, "no")).status).toBe(202);
    expect((await get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/output`)).json).toBe("resolved:one");
  });

  it("a malformed awakeable id gets 400", async () => {
    const bad = await suite.call("/restate/awakeables/not-an-awakeable/resolve", "x");
    expect(bad.status, bad.text).toBe(400);
    const badReject = await suite.call("/restate/awakeables/sign_1garbage/reject", "x");
    expect(badReject.status, badReject.text).toBe(400);
  });

  it("a completion that arrives before the handler awaits it is kept", async () => {
    const id = uid("awk");
    const { invocationId, published: awk } = await start("wait", { id, delayMs: 1500 }, "awk", "awk");
    const res = await suite.call(`/restate/awakeables/${awk}/resolve`, "early");
    expect(res.status, res.text).toBe(202);
    expect((await attach(invocationId)).json).toBe("resolved:early");
  });
});

describe("signals", () => {
  it("a named signal resolves the waiting invocation", async () => {
    const id = uid("sig");
    const { invocationId, published: target } = await start("waitSignal", { id }, "sig", "invocationId");
    expect(target).toBe(invocationId);
    expect((await suite.call("/SemAwake/signal", { target, value: "green" })).json).toBe("ok");
    expect((await attach(invocationId)).json).toBe("resolved:green");
  });

  it("a named signal can reject the waiting invocation", async () => {
    const id = uid("sig");
    const { invocationId, published: target } = await start("waitSignal", { id }, "sig", "invocationId");
    await suite.call("/SemAwake/signal", { target, reason: "red" });
    expect((await attach(invocationId)).json).toBe("rejected:red");
  });

  it("a signal that arrives before the handler awaits it is kept", async () => {
    const id = uid("sig");
    const { invocationId, published: target } = await start("waitSignal", { id, delayMs: 1500 }, "sig", "invocationId");
    await suite.call("/SemAwake/signal", { target, value: "early" });
    expect((await attach(invocationId)).json).toBe("resolved:early");
  });
});
