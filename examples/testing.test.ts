// Testing services without Docker: EndureTestEnvironment runs Endure inside the test process on a
// temporary directory, with the services under test in-process. Copy this file into your project
// and import from "endure" instead of "../src/index.ts". Works the same under Jest or node:test.
import * as restate from "@restatedev/restate-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx: restate.Context, name: string): Promise<string> => {
      const count = await ctx.objectClient(counter, name).add(1);
      return `Hello, ${name}! (visit ${count})`;
    },
  },
});

let env: EndureTestEnvironment;

beforeAll(async () => {
  env = await EndureTestEnvironment.start({ services: [greeter, counter] });
});

afterAll(async () => {
  await env?.stop();
});

async function call(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${env.baseUrl()}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

describe("Greeter", () => {
  it("counts the visits of each name", async () => {
    expect(await call("/Greeter/greet", "Ada")).toBe("Hello, Ada! (visit 1)");
    expect(await call("/Greeter/greet", "Ada")).toBe("Hello, Ada! (visit 2)");
    expect(await env.stateOf(counter, "Ada").get<number>("total")).toBe(2);
  });

  it("continues from state a test puts in place", async () => {
    await env.stateOf(counter, "Grace").set("total", 41);
    expect(await call("/Greeter/greet", "Grace")).toBe("Hello, Grace! (visit 42)");
    expect(await env.stateOf(counter, "Grace").getAll()).toEqual({ total: 42 });
  });

  it("starts from an empty state when setAll clears it", async () => {
    await env.stateOf(counter, "Alan").setAll({ total: 5, note: "old" });
    await env.stateOf(counter, "Alan").setAll({});
    expect(await env.stateOf(counter, "Alan").getAll()).toEqual({});
    expect(await call("/Counter/Alan/add", 1)).toBe(1);
  });

  it("exposes the admin API", async () => {
    const res = await fetch(`${env.adminAPIBaseUrl()}/services`);
    const names = ((await res.json()) as { services: { name: string }[] }).services.map((s) => s.name).sort();
    expect(names).toEqual(["Counter", "Greeter"]);
  });
});
