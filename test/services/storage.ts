// Services for the storage fault tests: an object whose handler takes a while to produce a
// large step result (so journaling it needs fresh disk space), and a counter to probe a key's lock.
import "../../examples/polyfill.js";
import http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";

/** Per key: a count of large writes, and the last large value. */
export const filler = restate.object({
  name: "Filler",
  handlers: {
    /** A step that takes `sleepMs` to produce `bytes` bytes, then counts the write. */
    slowWrite: async (ctx: restate.ObjectContext, req: { sleepMs: number; bytes: number }): Promise<number> => {
      const blob = await ctx.run("produce", async () => {
        await new Promise((r) => setTimeout(r, req.sleepMs));
        return "x".repeat(req.bytes);
      });
      const writes = ((await ctx.get<number>("writes")) ?? 0) + 1;
      ctx.set("size", blob.length);
      ctx.set("writes", writes);
      return writes;
    },
    /** Adds `n` to the key's counter. */
    add: async (ctx: restate.ObjectContext, n: number): Promise<number> => {
      const total = ((await ctx.get<number>("total")) ?? 0) + n;
      ctx.set("total", total);
      return total;
    },
    get: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<{ writes: number; total: number; size: number }> => ({
        writes: (await ctx.get<number>("writes")) ?? 0,
        total: (await ctx.get<number>("total")) ?? 0,
        size: (await ctx.get<number>("size")) ?? 0,
      }),
    ),
  },
});

const endpoint = restate.endpoint().bind(filler);
const server = http2.createServer(endpoint.http2Handler());
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
