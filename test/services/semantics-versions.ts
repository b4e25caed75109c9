// A versioned endpoint: the same service, answering with the version in SEM_VERSION, so tests
// can see which deployment ran an invocation. Prints `listening on <port>` once bound.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";
import { record } from "./effects.ts";

const version = process.env.SEM_VERSION ?? "1";

const versioned = restate.service({
  name: "SemVersioned",
  handlers: {
    /** Records the version it started on, sleeps, and returns the version that finished it. */
    slow: async (ctx: restate.Context, req: { id: string; ms: number }): Promise<string> => {
      record("enter", req.id, { version });
      await ctx.sleep(req.ms);
      return `v${version}`;
    },
    which: async (): Promise<string> => `v${version}`,
  },
});

const server = http2.createServer(restate.endpoint().bind(versioned).http2Handler());
server.listen(Number(process.env.PORT ?? 9082), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
