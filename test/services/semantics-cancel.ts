// Cancellation and kill: a parent waiting on a child that blocks forever, a compensating
// catch block, and a virtual object that holds its lock until cancelled or killed.
import * as restate from "@restatedev/restate-sdk";
import { record } from "./effects.ts";

type Req = { id: string };

/** Blocks on an awakeable nobody resolves; records its invocation id and whether it saw a cancel. */
export const semChild = restate.service({
  name: "SemChild",
  handlers: {
    block: async (ctx: restate.Context, req: Req): Promise<string> => {
      await ctx.run("started", () => {
        record("child-start", req.id, { invocationId: ctx.request().id });
      });
      try {
        return await ctx.awakeable<string>().promise;
      } catch (err) {
        if (err instanceof restate.TerminalError) {
          await ctx.run("child cancelled", () => {
            record("child-cancelled", req.id, { code: err.code });
          });
        }
        throw err;
      }
    },
  },
});

export const semParent = restate.service({
  name: "SemParent",
  handlers: {
    /** Calls the blocking child; on a terminal error compensates once, then rethrows. */
    run: async (ctx: restate.Context, req: Req): Promise<string> => {
      await ctx.run("started", () => {
        record("parent-start", req.id, { invocationId: ctx.request().id });
      });
      try {
        return await ctx.serviceClient(semChild).block(req);
      } catch (err) {
        if (err instanceof restate.TerminalError) {
          await ctx.run("compensate", () => {
            record("compensate", req.id, { code: err.code, message: err.message });
          });
        }
        throw err;
      }
    },
    /** Sleeps `ms` durably; used for admin operations on a sleeping invocation. */
    nap: async (ctx: restate.Context, req: { id: string; ms: number }): Promise<string> => {
      record("enter", req.id);
      await ctx.sleep(req.ms);
      await ctx.run("woke", () => {
        record("woke", req.id);
      });
      return `woke:${req.id}`;
    },
  },
});

/** An object whose `hold` keeps the key's lock until cancelled or killed. */
export const semLock = restate.object({
  name: "SemLock",
  handlers: {
    hold: async (ctx: restate.ObjectContext, req: Req): Promise<string> => {
      ctx.set("holder", req.id);
      await ctx.run("holding", () => {
        record("hold", req.id, { invocationId: ctx.request().id });
      });
      return ctx.awakeable<string>().promise;
    },
    next: async (ctx: restate.ObjectContext, req: Req): Promise<string> => {
      await ctx.run("next", () => {
        record("next", req.id);
      });
      return `next ran after ${(await ctx.get<string>("holder")) ?? "nobody"}`;
    },
  },
});
