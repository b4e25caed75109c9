// Durable execution: ctx.run with retries, retryable handler failures, durable sleeps,
// calls and sends between services and objects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, sleep, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite({ partitions: 4 });
});

afterAll(async () => {
  await suite?.stop();
});

describe("ctx.run", () => {
  it("a failing step is retried until it succeeds, and the result is journaled once", async () => {
    const id = uid("run");
    const res = await suite.call("/Failing/runRetries", { id, failures: 2, maxAttempts: 5 });
    expect(res.status, suite.logs()).toBe(200);
    expect(res.json).toEqual({ ok: true, value: "step succeeded on attempt 3" });
    expect(await suite.count("run-attempt", id)).toBe(3);
  });

  it("a step stops after maxRetryAttempts with a TerminalError", async () => {
    const id = uid("run");
    const res = await suite.call("/Failing/runRetries", { id, failures: 100, maxAttempts: 3 });
    expect(res.status, suite.logs()).toBe(200);
    expect((res.json as { ok: boolean }).ok).toBe(false);
    expect(await suite.count("run-attempt", id)).toBe(3);
  });

  it("a TerminalError thrown inside a step is not retried and fails the invocation with its code", async () => {
    const id = uid("run");
    const res = await suite.call("/Failing/runTerminal", { id });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ code: 422, message: "the step gave up" });
    await sleep(300);
    expect(await suite.count("run-attempt", id)).toBe(1);
  });

  it("every step of a multi-step handler runs exactly once", async () => {
    const id = uid("steps");
    const res = await suite.call("/Steps/five", { id, stepMs: 0 });
    expect(res.status).toBe(200);
    expect(res.json).toEqual([10, 20, 30, 40, 50]);
    const steps = (await suite.effects(id)).map((e) => e.step);
    expect(steps).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("retries", () => {
  it("a handler that fails twice with a retryable error succeeds on the third attempt", async () => {
    const id = uid("flaky");
    const res = await suite.call("/Failing/flaky", { id, failures: 2 });
    expect(res.status, suite.logs()).toBe(200);
    expect(res.json).toBe("succeeded on attempt 3");
    expect(await suite.count("attempt", id)).toBe(3);
  });
});

describe("ctx.sleep", () => {
  it("a handler sleeps at least the requested time and runs each step once", async () => {
    const id = uid("sleep");
    const before = Date.now();
    const res = await suite.call("/Sleeper/sleep", { id, ms: 1000 });
    expect(res.status).toBe(200);
    const effects = await suite.effects(id);
    const started = effects.find((e) => e.kind === "before")!.t;
    const woke = effects.find((e) => e.kind === "woke")!.t;
    expect(res.json).toEqual({ id, woke });
    expect(woke - started).toBeGreaterThanOrEqual(1000);
    expect(started).toBeGreaterThanOrEqual(before);
    expect(effects.filter((e) => e.kind === "before")).toHaveLength(1);
    expect(effects.filter((e) => e.kind === "woke")).toHaveLength(1);
  });
});

describe("calls between services", () => {
  it("a service calls another service and gets its answer", async () => {
    const res = await suite.call("/Caller/greet", "Grace");
    expect(res.status).toBe(200);
    expect(res.json).toBe("Hello, Grace!");
  });

  it("sequential calls to objects on many keys (many partitions) each return the new total", async () => {
    const keys = Array.from({ length: 8 }, (_, i) => uid(`k${i}`));
    const first = await suite.call("/Caller/addToAll", { keys, n: 2 });
    expect(first.status).toBe(200);
    expect(first.json).toEqual(keys.map(() => 2));
    const second = await suite.call("/Caller/addToAllParallel", { keys, n: 3 });
    expect(second.status).toBe(200);
    expect(second.json).toEqual(keys.map(() => 5));
    for (const key of keys) expect((await suite.call(`/Counter/${key}/get`)).json).toBe(5);
  });

  it("one-way sends to objects on many keys are each delivered exactly once", async () => {
    const keys = Array.from({ length: 8 }, (_, i) => uid(`r${i}`));
    const id = uid("notify");
    const res = await suite.call("/Caller/notify", { keys, id });
    expect(res.status).toBe(200);
    expect(res.json).toBe("sent");
    await eventually(async () => ((await suite.count("note", id)) === keys.length ? true : undefined), 10_000, "notes");
    await sleep(300);
    const notes = (await suite.effects(id)).filter((e) => e.kind === "note");
    expect(notes.map((n) => n.key).sort()).toEqual([...keys].sort());
    for (const key of keys) expect((await suite.call(`/Recorder/${key}/count`)).json).toBe(1);
  });

  it("an object calls and sends to other objects, across partitions", async () => {
    const from = uid("from");
    const to = uid("to");
    const called = await suite.call(`/Counter/${from}/forward`, { to, n: 4, oneWay: false });
    expect(called.status).toBe(200);
    expect(called.json).toEqual([4, 4]);
    const sent = await suite.call(`/Counter/${from}/forward`, { to, n: 6, oneWay: true });
    expect(sent.json).toEqual([10, null]);
    await eventually(async () => ((await suite.call(`/Counter/${to}/get`)).json === 10 ? true : undefined), 10_000, "the send");
    await sleep(200);
    expect((await suite.call(`/Counter/${to}/get`)).json).toBe(10);
    expect((await suite.call(`/Counter/${from}/get`)).json).toBe(10);
  });

  it("a delayed send from a handler is delivered no earlier than its delay", async () => {
    const key = uid("rec");
    const id = uid("later");
    const res = await suite.call("/Caller/notifyLater", { key, id, delayMs: 1200 });
    expect(res.status).toBe(200);
    const sentAt = res.json as number;
    await sleep(600);
    expect(await suite.count("note", id)).toBe(0);
    const notes = await eventually(async () => {
      const found = (await suite.effects(id)).filter((e) => e.kind === "note");
      return found.length > 0 ? found : undefined;
    }, 10_000, "the delayed note");
    expect(notes).toHaveLength(1);
    expect(notes[0]!.t).toBeGreaterThanOrEqual(sentAt + 1200);
  });

  it("a send's invocation can be attached to by id from the ingress", async () => {
    const key = uid("rec");
    const sent = await suite.call(`/Recorder/${key}/note/send`, uid("att"));
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    const attached = await get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`);
    expect(attached.status).toBe(200);
    expect(attached.json).toBe(1);
  });
});
