// A request/response (Lambda-style) endpoint over HTTP/1.1: every invocation is one HTTP
// request carrying the journal, and the handler suspends whenever it awaits something not yet
// completed. Register it with `use_http_11: true`. Prints `listening on <port>` once bound.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http from "node:http";
import { makeCombo, makeComboHelper } from "./semantics-combo.ts";
import { record } from "./effects.ts";

const helper = makeComboHelper("RrComboHelper");

/** Sleeps twice and counts its executions: each sleep is a suspension in this mode. */
const rrSleeper = restate.service({
  name: "RrSleeper",
  handlers: {
    twice: async (ctx: restate.Context, req: { id: string; ms: number }): Promise<string[]> => {
      record("enter", req.id);
      const a = await ctx.run("one", () => {
        record("step", req.id, { step: 1 });
        return "one";
      });
      await ctx.sleep(req.ms);
      const b = await ctx.run("two", () => {
        record("step", req.id, { step: 2 });
        return "two";
      });
      await ctx.sleep(req.ms);
      return [a, b, "done"];
    },
  },
});

const handler = restate.createEndpointHandler({
  services: [helper, makeCombo("RrCombo", helper), rrSleeper],
  bidirectional: false,
});
const server = http.createServer(handler);
server.listen(Number(process.env.PORT ?? 9081), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
