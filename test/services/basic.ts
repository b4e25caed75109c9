// Plain services: echo, a once-only stamp for idempotency, terminal and retryable failures.
import * as restate from "@restatedev/restate-sdk";
import { countRecorded, record } from "./effects.ts";

/** Returns its input; `greet` formats a greeting. */
export const echo = restate.service({
  name: "Echo",
  handlers: {
    echo: async (_ctx: restate.Context, value: unknown): Promise<unknown> => value,
    greet: async (_ctx: restate.Context, name: string): Promise<string> => `Hello, ${name}!`,
    /** Records one execution and returns a deterministic random id: same invocation, same id. */
    stamp: async (ctx: restate.Context, id: string): Promise<string> => {
      record("stamp", id);
      return ctx.rand.uuidv4();
    },
  },
});

/** Failure modes. */
export const failing = restate.service({
  name: "Failing",
  handlers: {
    /** Throws a TerminalError with the given code and message. */
    terminal: async (_ctx: restate.Context, req: { code?: number; message: string }): Promise<string> => {
      throw new restate.TerminalError(req.message, req.code === undefined ? undefined : { errorCode: req.code });
    },
    /** Fails with a retryable error on the first `failures` attempts, then succeeds. */
    flaky: async (_ctx: restate.Context, req: { id: string; failures: number }): Promise<string> => {
      record("attempt", req.id);
      const attempt = countRecorded("attempt", req.id);
      if (attempt <= req.failures) throw new Error(`attempt ${attempt} fails on purpose`);
      return `succeeded on attempt ${attempt}`;
    },
    /**
     * A ctx.run step that fails `failures` times; retried at most `maxAttempts` attempts.
     * Returns the step's result, or the message of the TerminalError ending the retries.
     */
    runRetries: async (
      ctx: restate.Context,
      req: { id: string; failures: number; maxAttempts: number },
    ): Promise<{ ok: boolean; value: string }> => {
      try {
        const value = await ctx.run(
          "flaky step",
          () => {
            record("run-attempt", req.id);
            const attempt = countRecorded("run-attempt", req.id);
            if (attempt <= req.failures) throw new Error(`step attempt ${attempt} fails on purpose`);
            return `step succeeded on attempt ${attempt}`;
          },
          { maxRetryAttempts: req.maxAttempts, initialRetryInterval: { milliseconds: 20 }, retryIntervalFactor: 1 },
        );
        return { ok: true, value };
      } catch (err) {
        if (err instanceof restate.TerminalError) return { ok: false, value: err.message };
        throw err;
      }
    },
    /** A ctx.run step that throws a TerminalError: it must run once and never be retried. */
    runTerminal: async (ctx: restate.Context, req: { id: string }): Promise<string> => {
      await ctx.run("doomed step", () => {
        record("run-attempt", req.id);
        throw new restate.TerminalError("the step gave up", { errorCode: 422 });
      });
      return "unreachable";
    },
  },
});
