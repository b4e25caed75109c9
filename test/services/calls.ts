// Calls between services and objects: request/response, one-way sends, delayed sends.
import * as restate from "@restatedev/restate-sdk";
import { record } from "./effects.ts";
import { echo } from "./basic.ts";
import { counter } from "./objects.ts";

/** Records that it ran (with the time), so sends can be observed. */
export const recorder = restate.object({
  name: "Recorder",
  handlers: {
    note: async (ctx: restate.ObjectContext, id: string): Promise<number> => {
      const count = ((await ctx.get<number>("count")) ?? 0) + 1;
      ctx.set("count", count);
      await ctx.run("note", () => {
        record("note", id, { key: ctx.key });
      });
      return count;
    },
    count: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<number> => (await ctx.get<number>("count")) ?? 0,
    ),
  },
});

/** Calls and sends to other services and objects. */
export const caller = restate.service({
  name: "Caller",
  handlers: {
    /** Request/response to a service. */
    greet: async (ctx: restate.Context, name: string): Promise<string> => ctx.serviceClient(echo).greet(name),
    /** Request/response to several counter keys (spread over partitions); returns each total. */
    addToAll: async (ctx: restate.Context, req: { keys: string[]; n: number }): Promise<number[]> => {
      const totals: number[] = [];
      for (const key of req.keys) totals.push(await ctx.objectClient(counter, key).add(req.n));
      return totals;
    },
    /** Calls in parallel and combines the answers. */
    addToAllParallel: async (ctx: restate.Context, req: { keys: string[]; n: number }): Promise<number[]> => {
      const calls = req.keys.map((key) => ctx.objectClient(counter, key).add(req.n));
      return restate.RestatePromise.all(calls);
    },
    /** One-way sends to a Recorder per key; returns at once. */
    notify: async (ctx: restate.Context, req: { keys: string[]; id: string }): Promise<string> => {
      for (const key of req.keys) ctx.objectSendClient(recorder, key).note(req.id);
      return "sent";
    },
    /** A one-way send delivered no earlier than `delayMs` from now; returns the send time. */
    notifyLater: async (ctx: restate.Context, req: { key: string; id: string; delayMs: number }): Promise<number> => {
      const sentAt = await ctx.run("sent at", () => Date.now());
      ctx.objectSendClient(recorder, req.key).note(req.id, restate.rpc.sendOpts({ delay: { milliseconds: req.delayMs } }));
      return sentAt;
    },
  },
});
