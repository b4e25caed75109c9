// Durable timers and durable steps: sleeps that survive suspension and crashes, and a
// five-step handler whose steps are counted.
import * as restate from "@restatedev/restate-sdk";
import { setTimeout as delay } from "node:timers/promises";
import { record } from "./effects.ts";

/** Sleeps durably and records when it woke up. */
export const sleeper = restate.service({
  name: "Sleeper",
  handlers: {
    /**
     * Records "enter" on every execution of the handler body (replays included), runs one
     * counted step, sleeps `ms`, records "woke" once, and returns the wake-up time.
     */
    sleep: async (ctx: restate.Context, req: { id: string; ms: number }): Promise<{ id: string; woke: number }> => {
      record("enter", req.id);
      const started = await ctx.run("before sleep", () => record("before", req.id).t);
      await ctx.sleep(req.ms);
      const woke = await ctx.run("after sleep", () => record("woke", req.id, { started }).t);
      return { id: req.id, woke };
    },
  },
});

/** A handler with five counted steps, each taking `stepMs` of real time. */
export const steps = restate.service({
  name: "Steps",
  handlers: {
    five: async (ctx: restate.Context, req: { id: string; stepMs: number }): Promise<number[]> => {
      const results: number[] = [];
      for (let i = 1; i <= 5; i++) {
        const value = await ctx.run(`step-${i}`, async () => {
          record("step", req.id, { step: i });
          await delay(req.stepMs);
          return i * 10;
        });
        results.push(value);
      }
      return results;
    },
  },
});
