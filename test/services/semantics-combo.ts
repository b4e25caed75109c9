// Combinators over calls, sleeps, awakeables and runs. Built by a factory so the same handlers
// can be served under another name by the request/response endpoint.
import * as restate from "@restatedev/restate-sdk";
import { record } from "./effects.ts";

type Req = { id: string };

/** The helper called by the combinator handlers: answers after a durable sleep, or fails. */
export function makeComboHelper(name: string) {
  return restate.service({
    name,
    handlers: {
      after: async (ctx: restate.Context, req: { ms: number; value: string }): Promise<string> => {
        await ctx.sleep(req.ms);
        return req.value;
      },
      fail: async (ctx: restate.Context, req: { ms: number; message: string }): Promise<string> => {
        await ctx.sleep(req.ms);
        throw new restate.TerminalError(req.message, { errorCode: 422 });
      },
      resolveLater: async (ctx: restate.Context, req: { awk: string; ms: number }): Promise<void> => {
        await ctx.sleep(req.ms);
        ctx.resolveAwakeable(req.awk, "awakeable");
      },
    },
  });
}

/** The combinator handlers; each records "enter" per execution and "step" once per run. */
export function makeCombo(name: string, helperApi: ReturnType<typeof makeComboHelper>) {
  return restate.service({
    name,
    handlers: {
      /** all over a call, a sleep, a run and an awakeable resolved by a one-way send. */
      all: async (ctx: restate.Context, req: Req): Promise<string[]> => {
        record("enter", req.id);
        const h = ctx.serviceClient(helperApi);
        const awk = ctx.awakeable<string>();
        ctx.serviceSendClient(helperApi).resolveLater({ awk: awk.id, ms: 300 });
        return restate.RestatePromise.all([
          h.after({ ms: 600, value: "call" }),
          ctx.sleep(400).map(() => "sleep"),
          ctx.run("step", () => {
            record("step", req.id);
            return "run";
          }),
          awk.promise,
        ]);
      },
      /** race of a long sleep against a short call. */
      race: async (ctx: restate.Context, req: Req): Promise<string> => {
        record("enter", req.id);
        return restate.RestatePromise.race([
          ctx.sleep(30_000).map(() => "sleep"),
          ctx.serviceClient(helperApi).after({ ms: 500, value: "call" }),
        ]);
      },
      /** any: the first success wins over an earlier failure. */
      any: async (ctx: restate.Context, req: Req): Promise<string> => {
        record("enter", req.id);
        const h = ctx.serviceClient(helperApi);
        return restate.RestatePromise.any([h.fail({ ms: 100, message: "boom" }), h.after({ ms: 600, value: "late-ok" })]);
      },
      /** any where everything fails. */
      anyFails: async (ctx: restate.Context, req: Req): Promise<string> => {
        record("enter", req.id);
        const h = ctx.serviceClient(helperApi);
        try {
          return await restate.RestatePromise.any([h.fail({ ms: 100, message: "a" }), h.fail({ ms: 200, message: "b" })]);
        } catch (err) {
          return `all failed:${err instanceof Error ? err.constructor.name : typeof err}`;
        }
      },
      /** allSettled over a failing call, a succeeding call and a sleep. */
      allSettled: async (ctx: restate.Context, req: Req): Promise<string[]> => {
        record("enter", req.id);
        const h = ctx.serviceClient(helperApi);
        const settled = await restate.RestatePromise.allSettled([
          h.fail({ ms: 100, message: "boom" }),
          h.after({ ms: 300, value: "ok" }),
          ctx.sleep(200).map(() => "slept"),
        ]);
        return settled.map((s) => (s.status === "fulfilled" ? `ok:${s.value}` : `err:${(s.reason as Error).message}`));
      },
      /** orTimeout: an awakeable nobody resolves times out; a fast call does not. */
      timeouts: async (ctx: restate.Context, req: Req): Promise<string[]> => {
        record("enter", req.id);
        const out: string[] = [];
        try {
          await ctx.awakeable<string>().promise.orTimeout(500);
          out.push("awakeable resolved");
        } catch (err) {
          out.push(err instanceof restate.TimeoutError ? `timeout:${err.code}` : `other:${String(err)}`);
        }
        out.push(await ctx.serviceClient(helperApi).after({ ms: 100, value: "in time" }).orTimeout(20_000));
        return out;
      },
      /** race of an awakeable (never resolved) against a sleep, then a run. */
      raceAwakeable: async (ctx: restate.Context, req: Req): Promise<string> => {
        record("enter", req.id);
        const winner = await restate.RestatePromise.race([
          ctx.awakeable<string>().promise,
          ctx.sleep(400).map(() => "timer"),
        ]);
        const step = await ctx.run("after race", () => {
          record("step", req.id);
          return "run";
        });
        return `${winner}+${step}`;
      },
    },
  });
}
