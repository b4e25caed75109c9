// Services for the schedule tests, in their own endpoint: the handler that declares a schedule
// in its metadata must not fire in every other suite. Prints `listening on <port>` once bound.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";
import { record } from "./effects.ts";

/**
 * The schedule `Ticker.declared` declares in its metadata; SCHEDULES_VARIANT changes it, as a
 * new version of the code would: `none` declares nothing, `bad` declares a cron that does not parse.
 */
const variant = process.env.SCHEDULES_VARIANT ?? "";
const declaredMetadata: Record<string, string> =
  variant === "none"
    ? {}
    : variant === "bad"
      ? { "endure.schedule": "*/2 * * *" }
      : { "endure.schedule": "*/2 * * * * *", "endure.schedule.catch_up": "none" };

/** Records each tick it is invoked for: which schedule tick, which invocation. */
const ticker = restate.service({
  name: "Ticker",
  handlers: {
    tick: async (ctx: restate.Context, input: { id: string }) => {
      const tick = ctx.request().headers.get("endure-schedule-tick") ?? "";
      const inv = ctx.request().id;
      await ctx.run("record", () => {
        record("tick", input.id, { tick, inv });
      });
    },
    declared: restate.handlers.handler(
      { metadata: declaredMetadata },
      async (ctx: restate.Context) => {
        const tick = ctx.request().headers.get("endure-schedule-tick") ?? "";
        await ctx.run("record", () => {
          record("declared", "declared", { tick });
        });
      },
    ),
  },
});

/** An object target: counts its ticks in its own state, per key. */
const tally = restate.object({
  name: "Tally",
  handlers: {
    add: async (ctx: restate.ObjectContext) => {
      const n = ((await ctx.get<number>("n")) ?? 0) + 1;
      ctx.set("n", n);
      const tick = ctx.request().headers.get("endure-schedule-tick") ?? "";
      await ctx.run("record", () => {
        record("tally", ctx.key, { n, tick });
      });
    },
  },
});

/** A workflow target: one run per tick, under the id the schedule's template renders. */
const report = restate.workflow({
  name: "Report",
  handlers: {
    run: async (ctx: restate.WorkflowContext) => {
      await ctx.run("record", () => {
        record("report", "report", { key: ctx.key });
      });
    },
  },
});

const server = http2.createServer(restate.endpoint().bind(ticker).bind(tally).bind(report).http2Handler());
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
