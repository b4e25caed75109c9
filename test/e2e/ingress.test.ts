// The HTTP ingress: calls, sends, idempotency, attach/output, errors and bad input.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, eventually, get, sleep, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

describe("calls", () => {
  it("a service call returns the handler's output", async () => {
    const res = await suite.call("/Echo/greet", "Ada");
    expect(res.status, suite.logs()).toBe(200);
    expect(res.json).toBe("Hello, Ada!");
  });

  it("JSON values of every shape round-trip unchanged", async () => {
    const value = { n: 1.5, s: "ü ✓", list: [1, null, true], nested: { empty: {} } };
    const res = await suite.call("/Echo/echo", value);
    expect(res.status).toBe(200);
    expect(res.json).toEqual(value);
  });

  it("an object call on a key returns the new state for that key only", async () => {
    const key = uid("counter");
    expect((await suite.call(`/Counter/${key}/add`, 5)).json).toBe(5);
    expect((await suite.call(`/Counter/${key}/add`, 7)).json).toBe(12);
    expect((await suite.call(`/Counter/${key}/get`)).json).toBe(12);
    expect((await suite.call(`/Counter/${key}-other/get`)).json).toBe(0);
  });
});

describe("sends", () => {
  it("a send is accepted with 202 and an invocation id, and the handler runs", async () => {
    const key = uid("rec");
    const id = uid("send");
    const res = await suite.call(`/Recorder/${key}/note/send`, id);
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ status: "Accepted" });
    expect((res.json as { invocationId: string }).invocationId).toMatch(/^inv_[0-9a-zA-Z]+$/);
    await eventually(async () => ((await suite.count("note", id)) === 1 ? true : undefined), 10_000, "the note");
    expect((await suite.call(`/Recorder/${key}/count`)).json).toBe(1);
  });

  it("a second send with the same idempotency key is PreviouslyAccepted with the same id", async () => {
    const key = uid("rec");
    const id = uid("send");
    const headers = { "idempotency-key": uid("idem") };
    const first = await suite.call(`/Recorder/${key}/note/send`, id, headers);
    const second = await suite.call(`/Recorder/${key}/note/send`, id, headers);
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ status: "Accepted" });
    expect(second.status).toBe(202);
    expect(second.json).toMatchObject({ status: "PreviouslyAccepted" });
    const firstId = (first.json as { invocationId: string }).invocationId;
    expect((second.json as { invocationId: string }).invocationId).toBe(firstId);
    const attached = await get(`${suite.endure.ingressUrl}/restate/invocation/${firstId}/attach`);
    expect(attached.status).toBe(200);
    expect(attached.json).toBe(1);
    await sleep(300);
    expect(await suite.count("note", id)).toBe(1);
  });

  it("a send with ?delay=1s runs no earlier than one second later", async () => {
    const key = uid("rec");
    const id = uid("delayed");
    const sentAt = Date.now();
    const res = await suite.call(`/Recorder/${key}/note/send?delay=1s`, id);
    expect(res.status).toBe(202);
    await sleep(500);
    expect(await suite.count("note", id)).toBe(0);
    const [note] = await eventually(async () => {
      const notes = (await suite.effects(id)).filter((e) => e.kind === "note");
      return notes.length > 0 ? notes : undefined;
    }, 10_000, "the delayed note");
    expect(note!.t).toBeGreaterThanOrEqual(sentAt + 1000);
  });
});

describe("idempotency", () => {
  it("the same idempotency key gives the same answer and runs the handler once", async () => {
    const id = uid("stamp");
    const headers = { "idempotency-key": uid("idem") };
    const first = await suite.call("/Echo/stamp", id, headers);
    const second = await suite.call("/Echo/stamp", id, headers);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.json).toBe(first.json);
    expect(await suite.count("stamp", id)).toBe(1);
  });

  it("different idempotency keys are different invocations", async () => {
    const id = uid("stamp");
    const first = await suite.call("/Echo/stamp", id, { "idempotency-key": uid("a") });
    const second = await suite.call("/Echo/stamp", id, { "idempotency-key": uid("b") });
    expect(second.json).not.toBe(first.json);
    expect(await suite.count("stamp", id)).toBe(2);
  });

  it("concurrent calls with the same idempotency key share one execution and one answer", async () => {
    const id = uid("sleep");
    const headers = { "idempotency-key": uid("idem") };
    const [first, second] = await Promise.all([
      suite.call("/Sleeper/sleep", { id, ms: 500 }, headers),
      suite.call("/Sleeper/sleep", { id, ms: 500 }, headers),
    ]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.json).toEqual(first.json);
    const effects = await suite.effects(id);
    expect(effects.filter((e) => e.kind === "before")).toHaveLength(1);
    expect(effects.filter((e) => e.kind === "woke")).toHaveLength(1);
  });

  it("an idempotent object call on the same key is applied once", async () => {
    const key = uid("counter");
    const headers = { "idempotency-key": uid("idem") };
    expect((await suite.call(`/Counter/${key}/add`, 3, headers)).json).toBe(3);
    expect((await suite.call(`/Counter/${key}/add`, 3, headers)).json).toBe(3);
    expect((await suite.call(`/Counter/${key}/get`)).json).toBe(3);
  });
});

describe("attach and output", () => {
  it("output is 470 while running, attach waits for the result, output then returns it", async () => {
    const id = uid("sleep");
    const sent = await suite.call("/Sleeper/sleep/send", { id, ms: 1500 });
    expect(sent.status).toBe(202);
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    const base = `${suite.endure.ingressUrl}/restate/invocation/${invocationId}`;

    const early = await get(`${base}/output`);
    expect(early.status).toBe(470);

    const attached = await get(`${base}/attach`);
    expect(attached.status).toBe(200);
    expect(attached.json).toMatchObject({ id });

    const late = await get(`${base}/output`);
    expect(late.status).toBe(200);
    expect(late.json).toEqual(attached.json);
  });

  it("attach to a finished invocation with an idempotency key returns the stored result", async () => {
    const id = uid("stamp");
    const headers = { "idempotency-key": uid("idem") };
    const sent = await suite.call("/Echo/stamp/send", id, headers);
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    const attached = await get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`);
    expect(attached.status).toBe(200);
    const again = await suite.call("/Echo/stamp", id, headers);
    expect(again.json).toBe(attached.json);
    expect(await suite.count("stamp", id)).toBe(1);
  });

  it("a malformed invocation id is rejected with 400", async () => {
    const res = await get(`${suite.endure.ingressUrl}/restate/invocation/not-an-id/attach`);
    expect(res.status).toBe(400);
    const out = await get(`${suite.endure.ingressUrl}/restate/invocation/inv_123/output`);
    expect(out.status).toBe(400);
  });
});

describe("errors and bad input", () => {
  it("a TerminalError with code 409 becomes HTTP 409 with a JSON code and message", async () => {
    const res = await suite.call("/Failing/terminal", { code: 409, message: "already exists" });
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ code: 409, message: "already exists" });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("x-restate-error-source")).toBe("invocation");
  });

  it("a TerminalError without a code becomes HTTP 500", async () => {
    const res = await suite.call("/Failing/terminal", { message: "plain failure" });
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ code: 500, message: "plain failure" });
  });

  it("an unknown service is 404", async () => {
    const res = await suite.call("/NoSuchService/greet", "x");
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ code: 404 });
    expect(res.headers.get("x-restate-error-source")).toBe("ingress");
  });

  it("an unknown handler is 404", async () => {
    const res = await suite.call("/Echo/noSuchHandler", "x");
    expect(res.status).toBe(404);
    const onObject = await suite.call(`/Counter/${uid("k")}/noSuchHandler`, 1);
    expect(onObject.status).toBe(404);
  });

  it("an object handler called without a key is 400", async () => {
    const res = await suite.call("/Counter/add", 1);
    expect(res.status).toBe(400);
  });

  it("malformed JSON is rejected with a 4xx and changes nothing", async () => {
    const key = uid("counter");
    expect((await suite.call(`/Counter/${key}/add`, 2)).json).toBe(2);
    const res = await call(suite.endure.ingressUrl, `/Counter/${key}/add`, undefined, {}, { raw: "{not json" });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await suite.call(`/Counter/${key}/get`)).json).toBe(2);
  });

  it("a key with encoded slashes and dots is an ordinary opaque key", async () => {
    const res = await suite.call("/Counter/..%2F..%2Fetc/add", 4);
    expect(res.status).toBe(200);
    expect(res.json).toBe(4);
    expect((await suite.call("/Counter/..%2F..%2Fetc/key")).json).toBe("../../etc");
    expect((await suite.call("/Counter/..%2F..%2Fetc/get")).json).toBe(4);
    expect((await suite.call("/Counter/etc/get")).json).toBe(0);
  });
});
