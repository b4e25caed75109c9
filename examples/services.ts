// Example services for Endure, written with the official Restate TypeScript SDK.
// Run with `node --import tsx examples/services.ts` (PORT, default 9080), then register
// http://127.0.0.1:9080 with Endure's admin API; `npm start` does all of this for you.
import "./polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";

/** A stateless service: one handler, no journal entries. */
export const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (_ctx: restate.Context, name: string): Promise<string> => `Hello, ${name}!`,
  },
});

/** A virtual object: one counter per key; `add` and `reset` run one at a time per key. */
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
  },
});

/** A workflow-like service: two durable steps with a durable one-second pause in between. */
export const onboarding = restate.service({
  name: "Onboarding",
  handlers: {
    start: async (ctx: restate.Context, user: string): Promise<string> => {
      const account = await ctx.run("create account", () => `acct-${user.toLowerCase()}`);
      await ctx.sleep({ seconds: 1 });
      const email = await ctx.run("send welcome email", () => `welcome mail sent to ${user}`);
      return `${user} onboarded: account ${account}, ${email}`;
    },
  },
});

const port = Number(process.env.PORT ?? 9080);
const server = http2.createServer(
  restate.endpoint().bind(greeter).bind(counter).bind(onboarding).http2Handler(),
);
server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  console.log(`listening on ${bound}`);
});

const shutdown = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
