// Virtual objects: a counter, a key-value store for the state API, a lock probe that
// records when exclusive and shared handlers start and end, and a large-state holder.
import * as restate from "@restatedev/restate-sdk";
import { record } from "./effects.ts";

/** A counter per key. */
export const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number): Promise<number> => {
      const total = ((await ctx.get<number>("total")) ?? 0) + n;
      ctx.set("total", total);
      return total;
    },
    get: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<number> => (await ctx.get<number>("total")) ?? 0,
    ),
    reset: async (ctx: restate.ObjectContext): Promise<void> => {
      ctx.clear("total");
    },
    /**
     * Adds `n` here and to the counter `to` (another key, usually another partition), by a
     * request/response call or a one-way send; returns [this total, the other total or null].
     */
    forward: async (
      ctx: restate.ObjectContext,
      req: { to: string; n: number; oneWay: boolean },
    ): Promise<[number, number | null]> => {
      const total = ((await ctx.get<number>("total")) ?? 0) + req.n;
      ctx.set("total", total);
      if (req.oneWay) {
        ctx.objectSendClient(counter, req.to).add(req.n);
        return [total, null];
      }
      return [total, await ctx.objectClient(counter, req.to).add(req.n)];
    },
    /** The key as the handler sees it. */
    key: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<string> => ctx.key),
  },
});

/** Exposes the state API: get, set, clear, clearAll, stateKeys. */
export const store = restate.object({
  name: "Store",
  handlers: {
    set: async (ctx: restate.ObjectContext, req: { name: string; value: unknown }): Promise<void> => {
      ctx.set(req.name, req.value);
    },
    get: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext, name: string): Promise<unknown> => (await ctx.get(name)) ?? null,
    ),
    clear: async (ctx: restate.ObjectContext, name: string): Promise<void> => {
      ctx.clear(name);
    },
    clearAll: async (ctx: restate.ObjectContext): Promise<void> => {
      ctx.clearAll();
    },
    keys: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<string[]> => (await ctx.stateKeys()).sort(),
    ),
    /** Sets a value, reads it back, clears another, all in one invocation. */
    setAndRead: async (ctx: restate.ObjectContext, req: { name: string; value: unknown }): Promise<unknown> => {
      ctx.set(req.name, req.value);
      return (await ctx.get(req.name)) ?? null;
    },
    /** Writes `count` entries of `size` characters each; returns the total written. */
    fill: async (ctx: restate.ObjectContext, req: { count: number; size: number; tag: string }): Promise<number> => {
      for (let i = 0; i < req.count; i++) ctx.set(`big-${i}`, `${req.tag}:${i}:`.padEnd(req.size, "x"));
      return req.count * req.size;
    },
    /** Reads the entries written by `fill` and describes them (length and prefix). */
    inspect: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext, count: number): Promise<string[]> => {
        const out: string[] = [];
        for (let i = 0; i < count; i++) {
          const value = (await ctx.get<string>(`big-${i}`)) ?? "";
          out.push(`${value.slice(0, value.indexOf(":", value.indexOf(":") + 1) + 1)}${value.length}`);
        }
        return out;
      },
    ),
  },
});

/** Records start and end of handlers, with a durable sleep in between. */
export const locking = restate.object({
  name: "Locking",
  handlers: {
    /** Exclusive: holds the key's lock for `ms`. */
    work: async (ctx: restate.ObjectContext, req: { id: string; ms: number }): Promise<string> => {
      await ctx.run("start", () => {
        record("start", req.id, { key: ctx.key, handler: "work" });
      });
      await ctx.sleep(req.ms);
      await ctx.run("end", () => {
        record("end", req.id, { key: ctx.key, handler: "work" });
      });
      return req.id;
    },
    /** Shared: runs alongside exclusive handlers and other shared ones. */
    peek: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext, req: { id: string; ms: number }): Promise<string> => {
        await ctx.run("start", () => {
          record("start", req.id, { key: ctx.key, handler: "peek" });
        });
        if (req.ms > 0) await ctx.sleep(req.ms);
        await ctx.run("end", () => {
          record("end", req.id, { key: ctx.key, handler: "peek" });
        });
        return req.id;
      },
    ),
  },
});
