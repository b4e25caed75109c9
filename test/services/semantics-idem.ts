// Idempotency and retention: handlers that count their executions, with default and short
// idempotency / journal retention from the manifest.
import * as restate from "@restatedev/restate-sdk";
import { countRecorded, record } from "./effects.ts";

type Req = { id: string };

async function countOnce(ctx: restate.Context, req: Req): Promise<number> {
  return ctx.run("count", () => {
    record("idem", req.id);
    return countRecorded("idem", req.id);
  });
}

/** Default retention (Restate: idempotency 1 day). */
export const semIdem = restate.service({
  name: "SemIdem",
  handlers: {
    count: countOnce,
    /** Same, but with a 1 s idempotency retention set on the handler. */
    short: restate.handlers.handler({ idempotencyRetention: { seconds: 1 } }, countOnce),
  },
});

/** Service-level 1 s idempotency retention and 1 s journal retention. */
export const semIdemShort = restate.service({
  name: "SemIdemShort",
  handlers: { count: countOnce },
  options: { idempotencyRetention: { seconds: 1 }, journalRetention: { seconds: 1 } },
});

/** Keyed variant, for the keyed attach/output paths. */
export const semIdemObj = restate.object({
  name: "SemIdemObj",
  handlers: { count: countOnce },
});
