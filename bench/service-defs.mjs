// The benchmark's official-SDK services, shared by the HTTP/2 service process
// (bench/services.mjs) and the embedded-mode app (bench/embedded-app.mjs). W6 step executions
// are appended to $BENCH_STEPS_FILE, one line per executed step, so the driver can count
// re-executions.
import "../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import { appendFileSync } from "node:fs";

const STEPS_FILE = process.env.BENCH_STEPS_FILE;

/** W1: does nothing. */
const noop = restate.service({
  name: "Noop",
  handlers: { run: async () => {} },
});

/** W2 and W7: `n` sequential durable steps. */
const steps = restate.service({
  name: "Steps",
  handlers: {
    run: async (ctx, n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await ctx.run(`step-${i}`, () => i);
      return sum;
    },
  },
});

/** W3: one counter per key; `add` is exclusive, `get` shared. */
const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx) => {
      const next = ((await ctx.get("count")) ?? 0) + 1;
      ctx.set("count", next);
      return next;
    },
    get: restate.handlers.object.shared(async (ctx) => (await ctx.get("count")) ?? 0),
  },
});

/**
 * W4: a durable sleep. `due` is taken just before the sleep is issued; `woke` in the first
 * step after it, so `woke - due` is how late the timer fired as the handler sees it.
 */
const sleeper = restate.service({
  name: "Sleeper",
  handlers: {
    sleep: async (ctx, ms) => {
      const due = Date.now() + ms;
      await ctx.sleep(ms);
      const woke = await ctx.run("woke", () => Date.now());
      return { due, woke };
    },
  },
});

/**
 * Cost curves (bench/curves.mjs): sleeps until the absolute time `at` (ms since the epoch), so
 * that many invocations sent over a long time all come due at once. The delay is taken inside
 * a step so that a replay sleeps for the same duration.
 */
const alarm = restate.service({
  name: "Alarm",
  handlers: {
    until: async (ctx, at) => {
      const ms = await ctx.run("delay", () => Math.max(0, at - Date.now()));
      await ctx.sleep(ms);
      const woke = await ctx.run("woke", () => Date.now());
      return { due: at, woke };
    },
  },
});

/**
 * Cost curves: one invocation of `n` steps, each returning the time it ran, so the driver can
 * see how the per-step latency moves as the journal grows. With a `tag`, every step also
 * appends `<tag> <i>` to $BENCH_STEPS_FILE so that the driver can kill the server mid-way.
 */
const longJournal = restate.service({
  name: "LongJournal",
  handlers: {
    run: async (ctx, { n, tag }) => {
      const times = [];
      for (let i = 0; i < n; i++) {
        times.push(
          await ctx.run(`s${i}`, () => {
            if (tag && STEPS_FILE) appendFileSync(STEPS_FILE, `${tag} ${i}\n`);
            return Date.now();
          }),
        );
      }
      return times;
    },
  },
});

/** Cost curves: a virtual object holding many state keys (10k keys / 10 MiB in the curve). */
const bigState = restate.object({
  name: "BigState",
  handlers: {
    /** Sets keys `k<from>` … `k<to - 1>` to strings of `size` characters. */
    fill: async (ctx, { from, to, size }) => {
      const value = "x".repeat(size);
      for (let i = from; i < to; i++) ctx.set(`k${i}`, value);
    },
    set: async (ctx, { key, value }) => {
      ctx.set(key, value);
    },
    get: restate.handlers.object.shared(async (ctx, key) => (await ctx.get(key)) ?? null),
  },
});

/** W5: the child called by Fanout. */
const child = restate.service({
  name: "Child",
  handlers: { value: async (_ctx, i) => i },
});

/** W5: calls Child 100 times concurrently and sums the answers. */
const fanout = restate.service({
  name: "Fanout",
  handlers: {
    sum: async (ctx) => {
      const calls = [];
      for (let i = 0; i < 100; i++) calls.push(ctx.serviceClient(child).value(i));
      const values = await restate.RestatePromise.all(calls);
      return values.reduce((a, b) => a + b, 0);
    },
  },
});

/** W6: five logged steps with a 500 ms durable sleep after the second. */
const crash = restate.service({
  name: "Crash",
  handlers: {
    run: async (ctx, id) => {
      const step = (s) =>
        ctx.run(`s${s}`, () => {
          if (STEPS_FILE) appendFileSync(STEPS_FILE, `${id} ${s}\n`);
          return s;
        });
      await step(1);
      await step(2);
      await ctx.sleep(500);
      await step(3);
      await step(4);
      await step(5);
      return id;
    },
  },
});

/** Every benchmark service, in one array for `restate.serve` or `startEndure`. */
export const services = [noop, steps, counter, sleeper, child, fanout, crash, alarm, longJournal, bigState];
