// Limits: state larger than the eager-state limit is fetched lazily by the SDK, and request
// bodies over the ingress limit are refused with 413.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;
const BODY_LIMIT = 64 * 1024;

beforeAll(async () => {
  suite = await startSuite({
    env: { ENDURE_EAGER_STATE_MAX_BYTES: "1024", ENDURE_INGRESS_MAX_BODY_BYTES: String(BODY_LIMIT) },
  });
});

afterAll(async () => {
  await suite?.stop();
});

describe("lazy state", () => {
  it("state larger than the eager limit is read back whole", async () => {
    const key = uid("big");
    const count = 20;
    const size = 4000;
    const filled = await suite.call(`/Store/${key}/fill`, { count, size, tag: "v1" });
    expect(filled.status, suite.logs()).toBe(200);
    expect(filled.json).toBe(count * size);
    const seen = await suite.call(`/Store/${key}/inspect`, count);
    expect(seen.status).toBe(200);
    expect(seen.json).toEqual(Array.from({ length: count }, (_, i) => `v1:${i}:${size}`));
  });

  it("stateKeys, get, set and clear work when the state was not sent eagerly", async () => {
    const key = uid("big");
    await suite.call(`/Store/${key}/fill`, { count: 5, size: 2000, tag: "x" });
    await suite.call(`/Store/${key}/set`, { name: "small", value: 1 });
    expect((await suite.call(`/Store/${key}/keys`)).json).toEqual(["big-0", "big-1", "big-2", "big-3", "big-4", "small"]);
    expect((await suite.call(`/Store/${key}/setAndRead`, { name: "big-2", value: "short" })).json).toBe("short");
    await suite.call(`/Store/${key}/clear`, "big-0");
    expect((await suite.call(`/Store/${key}/get`, "big-0")).json).toBeNull();
    expect((await suite.call(`/Store/${key}/get`, "big-2")).json).toBe("short");
    expect(((await suite.call(`/Store/${key}/get`, "big-4")).json as string).length).toBe(2000);
  });
});

describe("request body limit", () => {
  it("a body under the limit is accepted", async () => {
    const text = "a".repeat(BODY_LIMIT / 2);
    const res = await suite.call("/Echo/echo", text);
    expect(res.status).toBe(200);
    expect(res.json).toBe(text);
  });

  it("a body over the limit is refused with 413 and the handler does not run", async () => {
    const id = uid("stamp");
    const padded = id + " ".repeat(BODY_LIMIT * 2);
    const res = await call(suite.endure.ingressUrl, "/Echo/stamp", undefined, {}, { raw: JSON.stringify(padded) });
    expect(res.status).toBe(413);
    expect(await suite.count("stamp", padded)).toBe(0);
    expect(await suite.count("stamp", id)).toBe(0);
  });
});
