// A small call tree for the tracing tests, served on its own: `root` runs a step, sleeps,
// calls `leaf` and sends to it; each handler reports the trace context it was given.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";

/** What a handler saw: the traceparent of its input and of the request of its attempt. */
export interface Seen {
  input: string | undefined;
  attempt: string | undefined;
}

function seen(ctx: restate.Context): Seen {
  const attempt = ctx.request().attemptHeaders.get("traceparent");
  return { input: ctx.request().headers.get("traceparent"), attempt: Array.isArray(attempt) ? attempt[0] : attempt };
}

const leaf = restate.service({
  name: "TracedLeaf",
  handlers: {
    leaf: async (ctx: restate.Context): Promise<Seen> => {
      await ctx.run("leaf step", () => "done");
      return seen(ctx);
    },
  },
});

const root = restate.service({
  name: "TracedRoot",
  handlers: {
    root: async (ctx: restate.Context): Promise<{ root: Seen; leaf: Seen }> => {
      await ctx.run("prepare", () => "ready");
      await ctx.sleep(50);
      const fromLeaf = await ctx.serviceClient(leaf).leaf();
      ctx.serviceSendClient(leaf).leaf();
      return { root: seen(ctx), leaf: fromLeaf };
    },
  },
});

const server = http2.createServer(restate.endpoint().bind(root).bind(leaf).http2Handler());
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
