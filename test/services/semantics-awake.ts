// Awakeables and named signals: a handler publishes its awakeable id (or its invocation id) as
// an effect and waits; other handlers or the HTTP API complete it.
import * as restate from "@restatedev/restate-sdk";
import { record } from "./effects.ts";

async function outcome(promise: Promise<string>): Promise<string> {
  try {
    return `resolved:${await promise}`;
  } catch (err) {
    if (err instanceof restate.TerminalError) return `rejected:${err.message}`;
    throw err;
  }
}

export const semAwake = restate.service({
  name: "SemAwake",
  handlers: {
    /** Records "awk" with the awakeable id; sleeps `delayMs` first when given (completion may come earlier). */
    wait: async (ctx: restate.Context, req: { id: string; delayMs?: number }): Promise<string> => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => {
        record("awk", req.id, { awk: id });
      });
      if (req.delayMs !== undefined) await ctx.sleep(req.delayMs);
      return outcome(promise);
    },
    resolve: async (ctx: restate.Context, req: { awk: string; value: string }): Promise<string> => {
      ctx.resolveAwakeable(req.awk, req.value);
      return "ok";
    },
    reject: async (ctx: restate.Context, req: { awk: string; reason: string }): Promise<string> => {
      ctx.rejectAwakeable(req.awk, req.reason);
      return "ok";
    },
    /** Records "sig" with its invocation id, sleeps `delayMs` when given, then awaits signal "go". */
    waitSignal: async (ctx: restate.Context, req: { id: string; delayMs?: number }): Promise<string> => {
      const signal = ctx.signal<string>("go");
      await ctx.run("publish", () => {
        record("sig", req.id, { invocationId: ctx.request().id });
      });
      if (req.delayMs !== undefined) await ctx.sleep(req.delayMs);
      return outcome(signal);
    },
    signal: async (ctx: restate.Context, req: { target: string; value?: string; reason?: string }): Promise<string> => {
      const ref = ctx.invocation(req.target as restate.InvocationId).signal<string>("go");
      if (req.reason !== undefined) ref.reject(req.reason);
      else ref.resolve(req.value ?? "");
      return "ok";
    },
  },
});
