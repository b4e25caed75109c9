// Logs that help an operator: every failed attempt is logged once, with the invocation id, its
// target, the attempt number and the error; `--log-format pretty` writes lines for a terminal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGET, call, eventually, register, startEndure, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  if (TARGET !== "endure") return;
  suite = await startSuite({
    env: { ENDURE_RETRY_INITIAL_INTERVAL: "20ms", ENDURE_RETRY_MAX_ATTEMPTS: "3", ENDURE_RETRY_ON_MAX_ATTEMPTS: "kill" },
  });
});

afterAll(async () => {
  await suite?.stop();
});

interface FailedAttempt {
  msg: string;
  level: string;
  invocationId: string;
  target: string;
  attempt: number;
  error: string;
  retryInMs?: number;
  then?: string;
}

/** The JSON log lines about failed attempts of one invocation, in order. */
function failedAttempts(log: string, invocationId: string): FailedAttempt[] {
  const out: FailedAttempt[] = [];
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as Partial<FailedAttempt>;
    if (entry.invocationId === invocationId && entry.msg?.startsWith("invocation attempt failed")) out.push(entry as FailedAttempt);
  }
  return out;
}

describe.skipIf(TARGET !== "endure")("failed attempts in the log", () => {
  it("logs each failed attempt once with invocation id, target, attempt number and error", async () => {
    const res = await suite.call("/Failing/flaky", { id: uid("flaky"), failures: 2 });
    expect(res.status, res.text).toBe(200);
    const id = res.headers.get("x-restate-id")!;
    const lines = await eventually(async () => {
      const found = failedAttempts(suite.endure.log, id);
      return found.length >= 2 ? found : undefined;
    }, 5_000, "two failed-attempt lines");
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.attempt)).toEqual([1, 2]);
    for (const [i, l] of lines.entries()) {
      expect(l.level).toBe("warn");
      expect(l.msg).toBe("invocation attempt failed");
      expect(l.target).toBe("Failing/flaky");
      expect(l.error).toContain(`attempt ${i + 1} fails on purpose`);
      expect(l.retryInMs).toBeGreaterThan(0);
    }
  });

  it("says on the last failed attempt what happens once the retries are exhausted", async () => {
    const res = await suite.call("/Failing/flaky", { id: uid("doomed"), failures: 10 });
    expect(res.status, res.text).toBe(500);
    const id = res.headers.get("x-restate-id")!;
    const lines = await eventually(async () => {
      const found = failedAttempts(suite.endure.log, id);
      return found.length >= 3 ? found : undefined;
    }, 5_000, "three failed-attempt lines");
    expect(lines.map((l) => l.attempt)).toEqual([1, 2, 3]);
    // biome-ignore lint/suspicious/noThenProperty: the log field `then` (what happens next), not a thenable
    expect(lines[2]).toMatchObject({ msg: "invocation attempt failed; retry attempts exhausted", then: "kill", target: "Failing/flaky" });
    expect(lines[2]!.error).toContain("attempt 3 fails on purpose");
  });

  it("writes pretty lines for a terminal with --log-format pretty", async () => {
    const server = await startEndure({ env: { ENDURE_LOG_FORMAT: "pretty", ENDURE_RETRY_INITIAL_INTERVAL: "20ms" } });
    try {
      await register(server.adminUrl, suite.services.url);
      const res = await call(server.ingressUrl, "/Failing/flaky", { id: uid("pretty"), failures: 1 });
      expect(res.status, res.text).toBe(200);
      const id = res.headers.get("x-restate-id")!;
      const line = await eventually(
        async () => server.log.split("\n").find((l) => l.includes(id)),
        5_000,
        "the failed-attempt line",
      );
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: invocation attempt failed \{/);
      expect(line).toContain('"target":"Failing/flaky"');
      expect(line).toContain('"attempt":1');
      expect(server.log.split("\n").filter((l) => l.startsWith("{"))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
