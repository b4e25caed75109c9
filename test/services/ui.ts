// Services the web UI end-to-end test drives: an order flow whose journal has steps, sleeps,
// a call, a send and an awakeable, and which then waits an hour (a completed invocation's
// journal is not kept, so the timeline is read while it waits); a counter object with state (and a handler that holds its key); a workflow waiting on a durable promise; a
// sleeper to cancel; and a handler that always fails, so it keeps retrying.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";

const stock = restate.service({
  name: "Stock",
  handlers: {
    take: async (_ctx: restate.Context, item: string): Promise<string> => `took ${item}`,
  },
});

const audit = restate.service({
  name: "Audit",
  handlers: {
    record: async (_ctx: restate.Context, line: string): Promise<string> => `recorded ${line}`,
  },
});

const orders = restate.service({
  name: "Orders",
  handlers: {
    place: async (ctx: restate.Context, order: string): Promise<string> => {
      const reserved = await ctx.run("reserve", () => `reserved ${order}`);
      await ctx.sleep({ milliseconds: 100 });
      const taken = await ctx.serviceClient(stock).take(order);
      ctx.serviceSendClient(audit).record(`placed ${order}`);
      const approval = ctx.awakeable<string>();
      await ctx.run("request approval", () => approval.id);
      const verdict = await approval.promise;
      const charged = await ctx.run("charge", () => ({ order, amount: 42 }));
      await ctx.sleep({ hours: 1 });
      return `${reserved}, ${taken}, ${verdict}, charged ${charged.amount}`;
    },
  },
});

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number): Promise<number> => {
      const total = ((await ctx.get<number>("count")) ?? 0) + n;
      ctx.set("count", total);
      return total;
    },
    // Holds the key for an hour: calls behind it wait in the key's inbox.
    hold: async (ctx: restate.ObjectContext): Promise<void> => {
      await ctx.sleep({ hours: 1 });
    },
  },
});

const approval = restate.workflow({
  name: "Approval",
  handlers: {
    run: async (ctx: restate.WorkflowContext, what: string): Promise<string> => {
      const verdict = await ctx.promise<string>("verdict").get();
      return `${what}: ${verdict}`;
    },
  },
});

const sleeper = restate.service({
  name: "Sleeper",
  handlers: {
    nap: async (ctx: restate.Context, seconds: number): Promise<string> => {
      await ctx.sleep({ seconds });
      return "rested";
    },
  },
});

const flaky = restate.service({
  name: "Flaky",
  handlers: {
    fail: async (_ctx: restate.Context): Promise<string> => {
      throw new Error("database unreachable");
    },
  },
});

const server = http2.createServer(
  restate.endpoint().bind(stock).bind(audit).bind(orders).bind(counter).bind(approval).bind(sleeper).bind(flaky).http2Handler(),
);
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
