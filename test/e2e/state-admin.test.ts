// The test environment's state access through the admin API (SQL over `state` to read, the
// state mutation to write): what a handler then reads, refused while an invocation holds the
// key, and guarded by the state's version so that a change made in between is never lost.
import * as restate from "@restatedev/restate-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndureTestEnvironment } from "../../src/index.ts";
import { stateVersion } from "../../src/types/index.ts";
import { eventually, sleep } from "../harness/index.ts";

const box = restate.object({
  name: "Box",
  handlers: {
    hold: async (ctx: restate.ObjectContext, ms: number): Promise<void> => {
      await ctx.sleep(ms);
    },
    put: async (ctx: restate.ObjectContext, item: string): Promise<void> => {
      ctx.set("item", item);
    },
    peek: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<unknown> => (await ctx.get("item")) ?? null),
  },
});

let env: EndureTestEnvironment;

beforeAll(async () => {
  env = await EndureTestEnvironment.start({ services: [box] });
});

afterAll(async () => {
  await env?.stop();
});

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const json = (value: unknown): number[] => [...utf8(JSON.stringify(value))];

function mutate(body: unknown): Promise<Response> {
  return fetch(`${env.adminAPIBaseUrl()}/services/Box/state`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function call(path: string, body?: unknown): Promise<Response> {
  return fetch(`${env.baseUrl()}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

describe("the test environment's state access", () => {
  it("sets entries that handlers then read, keeping the others, and reads what handlers wrote", async () => {
    await env.stateOf(box, "a").setAll({ item: "apple", note: "kept" });
    await env.stateOf(box, "a").set("item", "apricot");
    expect(await (await call("/Box/a/peek")).json()).toBe("apricot");
    expect(await env.stateOf(box, "a").getAll()).toEqual({ item: "apricot", note: "kept" });
    expect((await call("/Box/b/put", "banana")).status).toBe(200);
    expect(await env.stateOf("Box", "b").get("item")).toBe("banana");
    expect(await env.stateOf(box, "nobody").getAll()).toEqual({});
    expect(await env.stateOf(box, "nobody").get("item")).toBeNull();
  });

  it("keys with quotes are read as they are, not as SQL", async () => {
    await env.stateOf(box, "o'brien").set("item", "x");
    expect(await env.stateOf(box, "o'brien").getAll()).toEqual({ item: "x" });
  });

  it("is refused while an invocation holds the key, and applies once it is free", async () => {
    await env.stateOf(box, "held").set("item", "before");
    expect((await call("/Box/held/hold/send", 3000)).status).toBe(202);
    await sleep(300);
    await expect(env.stateOf(box, "held").set("item", "during")).rejects.toThrow(/409/);
    await expect(env.stateOf(box, "held").setAll({ item: "during" })).rejects.toThrow(/409/);
    expect(await env.stateOf(box, "held").get("item")).toBe("before");
    await eventually(
      async () => ((await mutate({ object_key: "held", new_state: { item: json("after") } })).status === 202 ? true : undefined),
      20_000,
      "the key to be free",
    );
    expect(await env.stateOf(box, "held").get("item")).toBe("after");
  });

  it("a write carrying the version of a state that changed since is refused and changes nothing", async () => {
    await env.stateOf(box, "v").setAll({ item: "one" });
    const seen = stateVersion([[utf8("item"), utf8(JSON.stringify("one"))]]);
    expect((await call("/Box/v/put", "two")).status).toBe(200);
    const stale = await mutate({ object_key: "v", version: seen, new_state: { item: json("lost") } });
    expect(stale.status).toBe(409);
    expect(await env.stateOf(box, "v").get("item")).toBe("two");
    // The version of what is there now is accepted.
    const current = stateVersion([[utf8("item"), utf8(JSON.stringify("two"))]]);
    expect((await mutate({ object_key: "v", version: current, new_state: { item: json("three") } })).status).toBe(202);
    expect(await env.stateOf(box, "v").get("item")).toBe("three");
  });
});
