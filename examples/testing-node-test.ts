// The test environment under node:test (`node --import tsx --test examples/testing-node-test.ts`;
// in your project, import from "endure" and run your compiled tests with `node --test`).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { EndureTestEnvironment } from "../src/index.ts";

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number): Promise<number> => {
      const total = ((await ctx.get<number>("total")) ?? 0) + n;
      ctx.set("total", total);
      return total;
    },
  },
});

describe("Counter under node:test", () => {
  let env: EndureTestEnvironment;
  before(async () => {
    env = await EndureTestEnvironment.start({ services: [counter] });
  });
  after(async () => {
    await env?.stop();
  });

  it("adds to the total kept in its state", async () => {
    await env.stateOf(counter, "k").set("total", 10);
    const res = await fetch(`${env.baseUrl()}/Counter/k/add`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "5",
    });
    assert.equal(await res.json(), 15);
    assert.equal(await env.stateOf(counter, "k").get("total"), 15);
  });
});
