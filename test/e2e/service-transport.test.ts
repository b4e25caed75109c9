// The connection to a deployment and what a service may send on it: one oversized message
// must not wedge the HTTP/2 session every invocation of the deployment shares, and a message
// type the protocol does not define fails the attempt instead of growing the journal. The
// misbehaving deployments are raw HTTP/2 servers speaking the protocol by hand.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFrame } from "../../src/protocol/index.ts";
import {
  call,
  eventually,
  rawOutput,
  rawRetryableError,
  startRawDeployment,
  startSuite,
  uid,
  type RawDeployment,
  type Suite,
} from "../harness/index.ts";

let suite: Suite;
const raw: RawDeployment[] = [];

beforeAll(async () => {
  // The default ingress body limit (10 MiB): the session defect sat just below it.
  suite = await startSuite({ env: { ENDURE_RETRY_INITIAL_INTERVAL: "50ms", ENDURE_RETRY_MAX_INTERVAL: "200ms" } });
});

afterAll(async () => {
  await Promise.all(raw.map((d) => d.close()));
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

describe("message types a service sends", () => {
  it("an unknown command type fails the attempt and is not journaled; custom entries are", async () => {
    const service = uid("Raw").replace(/-/g, "_");
    const seen: number[] = [];
    raw.push(
      await startRawDeployment(suite.endure.adminUrl, service, (attempt) => {
        seen.push(attempt.knownEntries);
        if (attempt.index === 0) void attempt.send([encodeFrame(0xfc01, new Uint8Array([1, 2, 3])), rawRetryableError()], true);
        else if (attempt.index < 3) void attempt.send([encodeFrame(0x0415, new Uint8Array([8, 1])), rawRetryableError()], true);
        else void attempt.send(rawOutput('"done"'), true);
      }),
    );
    const res = await call(suite.endure.ingressUrl, `/${service}/run`, "go", {}, { timeoutMs: 20_000 });
    expect(res.status, suite.logs()).toBe(200);
    expect(res.json).toBe("done");
    // Input, then the custom entry; the unknown command never joins them.
    expect(seen).toEqual([1, 2, 2, 2]);
    await eventually(async () => (suite.endure.log.includes("protocol violation: unknown message type 0x0415") ? true : undefined), 5_000, "the violation in the log");
  });
});
