// Services the `restate` CLI end-to-end test drives: a keyed counter with state, a greeter
// that answers at once, a sleeper whose invocations stay suspended until cancelled, and a
// handler that always fails and so keeps retrying.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number): Promise<number> => {
      const total = ((await ctx.get<number>("count")) ?? 0) + n;
      ctx.set("count", total);
      return total;
    },
  },
});

const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (_ctx: restate.Context, name: string): Promise<string> => `Hello, ${name}!`,
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
    // Fails every attempt with a retryable error: the invocation keeps backing off.
    fail: async (_ctx: restate.Context): Promise<string> => {
      throw new Error("database unreachable");
    },
  },
});

const server = http2.createServer(restate.endpoint().bind(counter).bind(greeter).bind(sleeper).bind(flaky).http2Handler());
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
