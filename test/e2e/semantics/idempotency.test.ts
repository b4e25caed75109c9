// Idempotency and retention: attach and output by idempotency key (old and new ingress
// paths), retention defaults and overrides from the manifest, and the cleaner that lets a key
// run again once its retention expired.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, eventually, get, startSuite, uid, type Suite } from "../../harness/index.ts";
import { admin, FAST_CLEANUP_ENV, invocationIdOf, invocationStatus } from "./helpers.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite({ env: FAST_CLEANUP_ENV });
});

afterAll(async () => {
  await suite?.stop();
});

const ingress = (path: string) => get(`${suite.endure.ingressUrl}${path}`);
const post = (path: string, body: unknown) => call(suite.endure.ingressUrl, path, body);

describe("attach and output by idempotency key", () => {
  it("unkeyed service: /restate/invocation/{svc}/{handler}/{key}/attach|output", async () => {
    const id = uid("idem");
    const key = uid("key");
    const first = await suite.call("/SemIdem/count", { id }, { "idempotency-key": key });
    expect(first.status, first.text).toBe(200);
    expect(first.json).toBe(1);
    const repeat = await suite.call("/SemIdem/count", { id }, { "idempotency-key": key });
    expect(repeat.json).toBe(1);
    expect((await ingress(`/restate/invocation/SemIdem/count/${key}/attach`)).json).toBe(1);
    const out = await ingress(`/restate/invocation/SemIdem/count/${key}/output`);
    expect(out.status, out.text).toBe(200);
    expect(out.json).toBe(1);
    expect(await suite.count("idem", id)).toBe(1);
  });

  it("keyed object: /restate/invocation/{svc}/{objectKey}/{handler}/{key}/attach|output", async () => {
    const id = uid("idem");
    const key = uid("key");
    const sent = await suite.call(`/SemIdemObj/obj-${id}/count/send`, { id }, { "idempotency-key": key });
    expect(sent.status, sent.text).toBe(202);
    expect(sent.json).toMatchObject({ status: "Accepted" });
    const again = await suite.call(`/SemIdemObj/obj-${id}/count/send`, { id }, { "idempotency-key": key });
    expect(again.json).toEqual({ invocationId: invocationIdOf(sent), status: "PreviouslyAccepted" });
    expect((await ingress(`/restate/invocation/SemIdemObj/obj-${id}/count/${key}/attach`)).json).toBe(1);
    expect((await ingress(`/restate/invocation/SemIdemObj/obj-${id}/count/${key}/output`)).json).toBe(1);
    expect(await suite.count("idem", id)).toBe(1);
  });

  it("an unknown idempotency key answers 404", async () => {
    const res = await ingress(`/restate/invocation/SemIdem/count/${uid("never")}/output`);
    expect(res.status, res.text).toBe(404);
  });

  it("the newer /restate/call, /restate/send, /restate/attach and /restate/output forms", async () => {
    const id = uid("idem");
    const key = uid("key");
    const sent = await suite.call("/restate/send/SemIdem/count", { id }, { "idempotency-key": key });
    expect(sent.status, sent.text).toBe(202);
    const inv = invocationIdOf(sent);
    expect((await ingress(`/restate/attach/${inv}`)).json).toBe(1);
    expect((await ingress(`/restate/output/${inv}`)).json).toBe(1);
    const called = await suite.call("/restate/call/SemIdem/count", { id }, { "idempotency-key": key });
    expect(called.status, called.text).toBe(200);
    expect(called.json).toBe(1);
    const target = { target: "idempotentInvocation", service: "SemIdem", handler: "count", idempotencyKey: key };
    expect((await post("/restate/attach", target)).json).toBe(1);
    expect((await post("/restate/output", target)).json).toBe(1);
    expect((await post("/restate/output", { target: "invocation", invocationId: inv })).json).toBe(1);
    const keyed = await suite.call(`/restate/call/SemIdemObj/k-${id}/count`, { id: `${id}-obj` });
    expect(keyed.json).toBe(1);
    expect(await suite.count("idem", id)).toBe(1);
  });
});

describe("retention", () => {
  it("retention defaults and per-service / per-handler overrides are visible on the admin API", async () => {
    const svc = (await admin(suite.endure.adminUrl, "GET", "/services/SemIdem")).json as Record<string, unknown>;
    // Restate's defaults: idempotency and journal retention one day.
    expect(svc).toMatchObject({ idempotency_retention: "1d", journal_retention: "1d" });
    const short = (await admin(suite.endure.adminUrl, "GET", "/services/SemIdemShort")).json as Record<string, unknown>;
    expect(short).toMatchObject({ idempotency_retention: "1s", journal_retention: "1s" });
    const handler = (await admin(suite.endure.adminUrl, "GET", "/services/SemIdem/handlers/short")).json as Record<string, unknown>;
    expect(handler.idempotency_retention).toBe("1s");
    const wf = (await admin(suite.endure.adminUrl, "GET", "/services/SemWorkflow")).json as Record<string, unknown>;
    expect(wf).toMatchObject({ workflow_completion_retention: "1h", idempotency_retention: "1d", journal_retention: "1d" });
  });

  it("within the idempotency retention a key answers its first result; after it, the key runs again", async () => {
    const id = uid("ret");
    const key = uid("key");
    expect((await suite.call("/SemIdemShort/count", { id }, { "idempotency-key": key })).json).toBe(1);
    expect((await suite.call("/SemIdemShort/count", { id }, { "idempotency-key": key })).json).toBe(1);
    await eventually(
      async () => ((await ingress(`/restate/invocation/SemIdemShort/count/${key}/output`)).status === 404 ? true : undefined),
      10_000,
      "the idempotency key to expire",
    );
    const again = await suite.call("/SemIdemShort/count", { id }, { "idempotency-key": key });
    expect(again.json).toBe(2);
    expect(await suite.count("idem", id)).toBe(2);
  });

  it("a handler-level idempotency retention overrides the service default", async () => {
    const id = uid("ret");
    const key = uid("key");
    expect((await suite.call("/SemIdem/short", { id }, { "idempotency-key": key })).json).toBe(1);
    await eventually(
      async () => ((await ingress(`/restate/invocation/SemIdem/short/${key}/output`)).status === 404 ? true : undefined),
      10_000,
      "the idempotency key to expire",
    );
    expect((await suite.call("/SemIdem/short", { id }, { "idempotency-key": key })).json).toBe(2);
  });

  it("a completed invocation is kept for the journal retention, then purged", async () => {
    const id = uid("journal");
    const inv = invocationIdOf(await suite.call("/SemIdemShort/count/send", { id }));
    expect((await ingress(`/restate/invocation/${inv}/attach`)).json).toBe(1);
    expect((await ingress(`/restate/invocation/${inv}/output`)).json).toBe(1);
    expect(await invocationStatus(suite.endure.adminUrl, inv)).toBe("completed");
    await eventually(
      async () => ((await ingress(`/restate/invocation/${inv}/output`)).status === 404 ? true : undefined),
      10_000,
      "the journal retention to expire",
    );
    expect(await invocationStatus(suite.endure.adminUrl, inv)).toBeUndefined();
  });

  it("with the default retentions, keys and completed invocations are kept", async () => {
    const id = uid("ret");
    const key = uid("key");
    expect((await suite.call("/SemIdem/count", { id }, { "idempotency-key": key })).json).toBe(1);
    const plain = invocationIdOf(await suite.call("/SemIdem/count/send", { id: `${id}-plain` }));
    await new Promise((r) => setTimeout(r, 2500));
    expect((await ingress(`/restate/invocation/SemIdem/count/${key}/output`)).json).toBe(1);
    expect((await ingress(`/restate/invocation/${plain}/output`)).json).toBe(1);
    expect(await invocationStatus(suite.endure.adminUrl, plain)).toBe("completed");
    expect((await suite.call("/SemIdem/count", { id }, { "idempotency-key": key })).json).toBe(1);
    expect(await suite.count("idem", id)).toBe(1);
  });
});
