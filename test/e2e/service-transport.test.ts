// The connection to a deployment: one oversized message must not wedge the HTTP/2 session that
// every invocation of the deployment shares.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startSuite, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  // The default ingress body limit (10 MiB): the defect sat just below it.
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

describe("sessions to a deployment", () => {
  it("a body just under the 10 MiB limit does not break later calls to the same deployment", async () => {
    // Above Node's default HTTP/2 session memory (10,000,000 bytes), below the ingress limit.
    const big = "x".repeat(10_400_000 - 2); // JSON quotes make it 10,400,000 bytes
    const first = await call(suite.endure.ingressUrl, "/Echo/echo", undefined, {}, { raw: JSON.stringify(big), timeoutMs: 30_000 });
    expect(first.status, suite.logs()).toBe(200);
    expect((first.json as string).length).toBe(big.length);
    for (let i = 0; i < 3; i++) {
      const next = await call(suite.endure.ingressUrl, "/Echo/echo", `after-${i}`, {}, { timeoutMs: 15_000 });
      expect(next.status, suite.logs()).toBe(200);
      expect(next.json).toBe(`after-${i}`);
    }
  }, 90_000);
});
