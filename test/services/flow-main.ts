// Services for the flow-control tests, in their own endpoint. Handlers record what they see in
// EFFECTS_FILE; `Gate.hold` also counts, inside this one process, how many of its invocations
// run at the same moment. Prints `listening on <port>` once bound.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";
import { record } from "./effects.ts";

/** Invocations of Gate.hold running right now in this process, per test id. */
const running = new Map<string, number>();

const gate = restate.service({
  name: "Gate",
  handlers: {
    /** Holds for `ms`, recording how many holds of `id` ran at once when it entered. */
    hold: async (ctx: restate.Context, input: { id: string; ms: number; n?: number }) => {
      await ctx.run("hold", async () => {
        const now = (running.get(input.id) ?? 0) + 1;
        running.set(input.id, now);
        record("enter", input.id, { concurrent: now, n: input.n ?? 0 });
        await new Promise((r) => setTimeout(r, input.ms));
        running.set(input.id, (running.get(input.id) ?? 1) - 1);
      });
    },
    /** Records when it started. */
    tick: async (ctx: restate.Context, input: { id: string; n: number }) => {
      await ctx.run("tick", () => {
        record("tick", input.id, { n: input.n });
      });
    },
    /** Sends `count` holds from inside a handler, each with the limit key `key`. */
    fanout: async (ctx: restate.Context, input: { id: string; count: number; key: string }) => {
      for (let n = 0; n < input.count; n++) {
        ctx.genericSend({
          service: "Gate",
          method: "hold",
          parameter: new TextEncoder().encode(JSON.stringify({ id: input.id, ms: 300, n })),
          headers: { "x-endure-limit-key": input.key, "content-type": "application/json" },
        });
      }
    },
    /** Records which of the sends of one debounce window ran. */
    settle: async (ctx: restate.Context, input: { id: string; n: number }) => {
      await ctx.run("settle", () => {
        record("settle", input.id, { n: input.n });
      });
    },
  },
});

const server = http2.createServer(restate.endpoint().bind(gate).http2Handler());
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
