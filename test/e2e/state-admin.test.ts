// Setting a key's state through the admin API (POST /services/{service}/state, what the test
// environment's stateOf().set uses): applied through the key's log, refused while an invocation
// holds the key, and every bad request answered with a clear 4xx that changes nothing.
import * as restate from "@restatedev/restate-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndureTestEnvironment } from "../../src/index.ts";
import { eventually, sleep } from "../harness/index.ts";

const box = restate.object({
  name: "Box",
  handlers: {
    hold: async (ctx: restate.ObjectContext, ms: number): Promise<void> => {
      await ctx.sleep(ms);
    },
    peek: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<unknown> => (await ctx.get("item")) ?? null),
  },
});
const plain = restate.service({ name: "Plain", handlers: { ping: async (): Promise<string> => "pong" } });

let env: EndureTestEnvironment;

beforeAll(async () => {
  env = await EndureTestEnvironment.start({ services: [box, plain] });
});

afterAll(async () => {
  await env?.stop();
});

function patch(service: string, body: unknown): Promise<Response> {
  return fetch(`${env.adminAPIBaseUrl()}/services/${service}/state`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const bytes = (value: unknown): number[] => [...new TextEncoder().encode(JSON.stringify(value))];

describe("state modification through the admin API", () => {
  it("replaces the key's state, which handlers then read", async () => {
    const res = await patch("Box", { object_key: "a", new_state: { item: bytes("apple") } });
    expect(res.status).toBe(202);
    const peek = await fetch(`${env.baseUrl()}/Box/a/peek`, { method: "POST" });
    expect(await peek.json()).toBe("apple");
    expect(await env.stateOf(box, "b").getAll()).toEqual({});
  });

  it("is refused with 409 while an invocation holds the key, and applies once it is free", async () => {
    await env.stateOf(box, "held").set("item", "before");
    const sent = await fetch(`${env.baseUrl()}/Box/held/hold/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "3000",
    });
    expect(sent.status).toBe(202);
    await sleep(300);
    const refused = await patch("Box", { object_key: "held", new_state: { item: bytes("during") } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/locked/);
    expect(await env.stateOf(box, "held").get("item")).toBe("before");
    await eventually(async () => ((await patch("Box", { object_key: "held", new_state: { item: bytes("after") } })).status === 202 ? true : undefined), 20_000, "the key to be free");
    expect(await env.stateOf(box, "held").get("item")).toBe("after");
  });

  it("answers bad requests with 4xx and changes nothing", async () => {
    await env.stateOf(box, "c").set("item", "kept");
    const cases: [string, unknown, number][] = [
      ["Nope", { object_key: "c", new_state: {} }, 404],
      ["Plain", { object_key: "c", new_state: {} }, 400],
      ["Box", "not json", 400],
      ["Box", [1, 2], 400],
      ["Box", { new_state: {} }, 400],
      ["Box", { object_key: "c" }, 400],
      ["Box", { object_key: "c", new_state: { item: "text" } }, 400],
      ["Box", { object_key: "c", new_state: { item: [256] } }, 400],
      ["Box", { object_key: "c", new_state: {}, version: "v1" }, 400],
    ];
    for (const [service, body, status] of cases) {
      const res = await patch(service, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      const err = (await res.json()) as { code: number; message: string };
      expect(err.code).toBe(status);
      expect(err.message.length).toBeGreaterThan(0);
    }
    expect(await env.stateOf(box, "c").getAll()).toEqual({ item: "kept" });
  });
});
