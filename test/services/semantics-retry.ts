// Retry policies from the manifest, next-retry delays, pausing, and a handler whose replay
// diverges from its journal. Tests steer the handlers by appending "fix" lines to the effects file.
import * as restate from "@restatedev/restate-sdk";
import { countRecorded, record } from "./effects.ts";
import { recorder } from "./calls.ts";

type Req = { id: string; failures?: number };

const fast = { initialInterval: 100, exponentiationFactor: 2, maxInterval: 400 };

export const semRetry = restate.service({
  name: "SemRetry",
  handlers: {
    /** Fails `failures` times (retryable), then returns the number of attempts. */
    flaky: restate.handlers.handler(
      { retryPolicy: { ...fast, maxAttempts: 20, onMaxAttempts: "kill" } },
      async (_ctx: restate.Context, req: Req): Promise<number> => {
        record("attempt", req.id);
        const attempt = countRecorded("attempt", req.id);
        if (attempt <= (req.failures ?? 0)) throw new Error(`transient failure ${attempt}`);
        return attempt;
      },
    ),
    /** Always fails until a "fix" effect exists; paused after 3 attempts. */
    pausing: restate.handlers.handler(
      { retryPolicy: { initialInterval: 50, maxAttempts: 3, onMaxAttempts: "pause" } },
      async (_ctx: restate.Context, req: Req): Promise<string> => {
        record("attempt", req.id);
        if (countRecorded("fix", req.id) === 0) throw new Error("not fixed yet");
        return `fixed:${req.id}`;
      },
    ),
    /** Always fails; killed after 2 attempts. */
    killing: restate.handlers.handler(
      { retryPolicy: { initialInterval: 50, maxAttempts: 2, onMaxAttempts: "kill" } },
      async (_ctx: restate.Context, req: Req): Promise<string> => {
        record("attempt", req.id);
        throw new Error(`always failing ${req.id}`);
      },
    ),
    /** Asks for a retry after 800 ms (next_retry_delay) once, although the policy says 50 ms. */
    retryAfter: restate.handlers.handler(
      { retryPolicy: { initialInterval: 50, maxAttempts: 10, onMaxAttempts: "kill" } },
      async (_ctx: restate.Context, req: Req): Promise<number> => {
        record("attempt", req.id);
        if (countRecorded("attempt", req.id) === 1) {
          throw new restate.RetryableError("come back later", { retryAfter: { milliseconds: 800 } });
        }
        return countRecorded("attempt", req.id);
      },
    ),
    /** A run step that fails once with a run-level retry interval of 700 ms. */
    runRetry: restate.handlers.handler(
      { retryPolicy: { initialInterval: 50, maxAttempts: 10, onMaxAttempts: "kill" } },
      async (ctx: restate.Context, req: Req): Promise<number> =>
        ctx.run(
          "flaky step",
          () => {
            record("attempt", req.id);
            if (countRecorded("attempt", req.id) === 1) throw new Error("step failed once");
            return countRecorded("attempt", req.id);
          },
          { initialRetryInterval: { milliseconds: 700 }, maxRetryAttempts: 5 },
        ),
    ),
    /** Fails (retryable, every 200 ms, practically forever) until a "fix" exists: for pause/resume. */
    stuck: restate.handlers.handler(
      { retryPolicy: { initialInterval: 200, exponentiationFactor: 1, maxAttempts: 1000, onMaxAttempts: "kill" } },
      async (_ctx: restate.Context, req: Req): Promise<string> => {
        record("attempt", req.id);
        if (countRecorded("fix", req.id) === 0) throw new Error("stuck");
        return `unstuck:${req.id}`;
      },
    ),
  },
});

/**
 * First execution journals a run, then fails (retryable). Every later execution replays a sleep
 * where the journal holds the run (journal mismatch), then would send a note to Recorder.
 */
function diverging(onMaxAttempts: "pause" | "kill") {
  return restate.handlers.handler(
    { retryPolicy: { initialInterval: 50, maxAttempts: 3, onMaxAttempts } },
    async (ctx: restate.Context, req: Req): Promise<string> => {
      record("enter", req.id);
      if (countRecorded("enter", req.id) === 1) {
        await ctx.run("first", () => "first");
        throw new Error("fail after the first step");
      }
      await ctx.sleep(10);
      ctx.objectSendClient(recorder, req.id).note(req.id);
      await ctx.run("after divergence", () => {
        record("after-divergence", req.id);
      });
      return "diverged";
    },
  );
}

export const semNondet = restate.service({
  name: "SemNondet",
  handlers: { killed: diverging("kill"), paused: diverging("pause") },
});
