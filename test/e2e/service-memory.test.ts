// Bounds on what services make Endure hold: bytes of messages still arriving count against one
// memory limit for the whole node, and a stream that sends nothing useful is cut off by the
// inactivity and abort timeouts. The services are raw HTTP/2 deployments that stall on purpose.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageType, encodeMessageFrame } from "../../src/protocol/index.ts";
import { call, rawOutput, sleep, startEndure, startRawDeployment, uid, type EndureProcess, type RawAttempt, type RawDeployment } from "../harness/index.ts";

const LIMIT = 1024 * 1024;
const INACTIVITY_MS = 2000;
const ABORT_MS = 2000;

let endure: EndureProcess;
const raw: RawDeployment[] = [];

beforeAll(async () => {
  endure = await startEndure({
    env: {
      ENDURE_INVOKER_MEMORY_LIMIT: String(LIMIT),
      ENDURE_INACTIVITY_TIMEOUT: `${INACTIVITY_MS}ms`,
      ENDURE_ABORT_TIMEOUT: `${ABORT_MS}ms`,
      ENDURE_RETRY_INITIAL_INTERVAL: "50ms",
      ENDURE_RETRY_MAX_INTERVAL: "200ms",
    },
  });
});

afterAll(async () => {
  await Promise.all(raw.map((d) => d.close()));
  await endure?.stop();
});

/** A frame header announcing `length` body bytes, then `sent` of them: a message that never completes. */
function incompleteFrame(length: number, sent: number): Uint8Array {
  const out = new Uint8Array(8 + sent);
  const view = new DataView(out.buffer);
  view.setUint16(0, MessageType.OutputCommand);
  view.setUint32(4, length);
  return out;
}

/** The attempts a raw deployment saw; `nth(i)` resolves once attempt i started. */
function attemptsOf(): { list: RawAttempt[]; nth(i: number): Promise<RawAttempt>; push(a: RawAttempt): void } {
  const list: RawAttempt[] = [];
  const waiters = new Map<number, (a: RawAttempt) => void>();
  return {
    list,
    push(a) {
      list.push(a);
      waiters.get(a.index)?.(a);
    },
    nth(i) {
      const seen = list[i];
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.set(i, resolve));
    },
  };
}

describe("invocation memory limit", () => {
  it("a stream that would pass the node's memory limit fails at once and is retried; the hog is cut off by the timeouts", async () => {
    const service = uid("Hog").replace(/-/g, "_");
    const attempts = attemptsOf();
    let hogSent: Promise<void> | undefined;
    raw.push(
      await startRawDeployment(endure.adminUrl, service, (attempt) => {
        // The first two attempts each send 60% of the limit of a message that never completes.
        if (attempt.index === 0) hogSent = attempt.send([incompleteFrame(LIMIT, Math.floor(LIMIT * 0.6))]);
        else if (attempt.index === 1) void attempt.send([incompleteFrame(LIMIT, Math.floor(LIMIT * 0.6))]);
        else void attempt.send(rawOutput('"ok"'), true);
        attempts.push(attempt);
      }),
    );

    const hogCall = call(endure.ingressUrl, `/${service}/run`, "a", {}, { timeoutMs: 30_000 });
    const hog = await attempts.nth(0);
    const hogStarted = Date.now();
    await hogSent; // the hog's bytes reached Endure
    await sleep(100);
    const secondCall = call(endure.ingressUrl, `/${service}/run`, "b", {}, { timeoutMs: 30_000 });
    const second = await attempts.nth(1);

    const order: string[] = [];
    await Promise.all([second.closed.then(() => order.push("second")), hog.closed.then(() => order.push("hog"))]);
    const hogHeldMs = Date.now() - hogStarted;
    // The second stream did not wait for the hog to go: it was refused the memory it needed.
    expect(order, endure.log.slice(-3000)).toEqual(["second", "hog"]);
    expect(endure.log).toContain("invocation memory limit of 1048576 bytes is used up");
    // The hog, whose message never completes, is asked to suspend and then cut off.
    expect(hogHeldMs).toBeLessThan(INACTIVITY_MS + ABORT_MS + 3000);

    for (const res of [await hogCall, await secondCall]) {
      expect(res.status, endure.log.slice(-3000)).toBe(200);
      expect(res.json).toBe("ok");
    }
  });
});

describe("streams that send nothing useful", () => {
  it("a service that only repeats AwaitingOn is cut off by the inactivity and abort timeouts", async () => {
    const service = uid("Idler").replace(/-/g, "_");
    const attempts = attemptsOf();
    const timers: NodeJS.Timeout[] = [];
    raw.push(
      await startRawDeployment(endure.adminUrl, service, (attempt) => {
        attempts.push(attempt);
        if (attempt.index > 0) {
          void attempt.send(rawOutput('"ok"'), true);
          return;
        }
        const awaiting = encodeMessageFrame(MessageType.AwaitingOn, {});
        void attempt.send([awaiting]);
        const timer = setInterval(() => void attempt.send([awaiting]), 200);
        timers.push(timer);
        void attempt.closed.then(() => clearInterval(timer));
      }),
    );
    try {
      const res = call(endure.ingressUrl, `/${service}/run`, "x", {}, { timeoutMs: 30_000 });
      const idler = await attempts.nth(0);
      const started = Date.now();
      const closedInTime = await Promise.race([idler.closed.then(() => true), sleep(INACTIVITY_MS + ABORT_MS + 4000).then(() => false)]);
      expect(closedInTime, `still open after ${Date.now() - started} ms`).toBe(true);
      expect((await res).json).toBe("ok");
    } finally {
      for (const t of timers) clearInterval(t);
    }
  });
});
