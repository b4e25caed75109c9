// A virtual object fed by subscriptions: counts the records of each key and notes any record
// that arrives out of its key's order, so a test can check "exactly once, in order per key".
import * as restate from "@restatedev/restate-sdk";

/** A record as the subscription tests publish it: the key's n-th record (from 1). */
export interface CountedEvent {
  key: string;
  n: number;
  /** A record the handler rejects with a terminal error. */
  poison?: boolean;
}

/** What a key has seen. */
export interface EventTally {
  count: number;
  last: number;
  /** Records whose n was not last + 1, or whose key was not the object's. */
  disorder: number;
  /** The `source-header` request header of the last record, as the handler saw it. */
  header: string | null;
}

export const eventCounter = restate.object({
  name: "EventCounter",
  handlers: {
    add: async (ctx: restate.ObjectContext, event: CountedEvent): Promise<void> => {
      if (event.poison === true) throw new restate.TerminalError(`poison record ${event.key}/${event.n}`);
      const count = (await ctx.get<number>("count")) ?? 0;
      const last = (await ctx.get<number>("last")) ?? 0;
      if (event.n !== last + 1 || event.key !== ctx.key) ctx.set("disorder", ((await ctx.get<number>("disorder")) ?? 0) + 1);
      ctx.set("count", count + 1);
      ctx.set("last", event.n);
      ctx.set("header", ctx.request().headers.get("source-header") ?? null);
    },
    get: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<EventTally> => ({
        count: (await ctx.get<number>("count")) ?? 0,
        last: (await ctx.get<number>("last")) ?? 0,
        disorder: (await ctx.get<number>("disorder")) ?? 0,
        header: (await ctx.get<string>("header")) ?? null,
      }),
    ),
    internal: restate.handlers.object.exclusive({ ingressPrivate: true }, async (): Promise<void> => {}),
  },
});
