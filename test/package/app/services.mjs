// A service written against the installed SDK, plain JavaScript: what a user of the package writes.
import * as restate from "@restatedev/restate-sdk";

// The SDK calls Promise.withResolvers, which Node 20 lacks.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx, name) => {
      const greeting = await ctx.run("compose", () => `Hello, ${name}!`);
      return greeting;
    },
  },
});

export const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx, n) => {
      const total = ((await ctx.get("total")) ?? 0) + n;
      ctx.set("total", total);
      return total;
    },
  },
});
