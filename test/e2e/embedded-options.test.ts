// startEndure refuses bad options before anything starts, naming each one as the caller wrote
// it, and a start that fails (a port in use) leaves nothing behind that blocks the next one.
// Schedules declared by in-process handlers are checked and applied as a registration does.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import * as restate from "@restatedev/restate-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, startEndure, type StartEndureOptions } from "../../src/index.ts";
import { eventually } from "../harness/index.ts";

const greeter = restate.service({ name: "Greeter", handlers: { greet: async (_ctx: restate.Context, n: string) => `Hello, ${n}!` } });

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "endure-embedded-options-"));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function refusal(options: unknown): Promise<ConfigError> {
  try {
    const endure = await startEndure(options as StartEndureOptions);
    await endure.stop();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`started with ${JSON.stringify(options)}`);
}

describe("startEndure options", () => {
  it("are refused with one ConfigError naming every bad option, before anything is created", async () => {
    const dataDir = path.join(scratch, "never");
    const err = await refusal({ dataDir, services: [], ingress: "nope", admin: 9070, partitions: 0, logLevel: "loud" });
    expect(err.issues).toEqual([
      expect.stringMatching(/^services: expected a non-empty array/),
      'ingress: expected host:port (port 0 for a free one) or false (no listener), got "nope"',
      "admin: expected host:port (port 0 for a free one) or false (no listener), got 9070",
      "partitions: expected an integer between 1 and 1024, got 0",
      expect.stringMatching(/^logLevel: expected one of trace\|debug/),
    ]);
    expect((await refusal({ services: [greeter] })).issues).toEqual(["dataDir: expected the path of a directory"]);
    expect((await refusal({ dataDir, services: [{}] })).issues).toEqual([expect.stringMatching(/^services: every entry must be a definition/)]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("a start that fails on a port in use leaves the data directory free for the next start", async () => {
    const dataDir = path.join(scratch, "busy");
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => blocker.once("listening", resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expect(startEndure({ dataDir, services: [greeter], ingress: `127.0.0.1:${port}` })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
    const endure = await startEndure({ dataDir, services: [greeter] });
    try {
      const res = await fetch(`${endure.ingressUrl}/Greeter/greet`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '"again"',
      });
      expect(await res.json()).toBe("Hello, again!");
    } finally {
      await endure.stop();
    }
  });

  it("applies the schedules in-process handlers declare, and refuses to start on a bad declaration", async () => {
    let ticks = 0;
    const ticker = restate.service({
      name: "Ticker",
      handlers: {
        tick: restate.handlers.handler({ metadata: { "endure.schedule": "every 1s" } }, async (): Promise<void> => {
          ticks++;
        }),
      },
    });
    const endure = await startEndure({ dataDir: path.join(scratch, "scheduled"), services: [greeter, ticker] });
    try {
      const res = await fetch(`${endure.adminUrl}/schedules/Ticker.tick`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { target: unknown }).target).toMatchObject({ service: "Ticker", handler: "tick" });
      await eventually(async () => (ticks >= 2 ? true : undefined), 10_000, "two ticks of the declared schedule");
    } finally {
      await endure.stop();
    }

    const bad = restate.service({
      name: "Bad",
      handlers: { run: restate.handlers.handler({ metadata: { "endure.schedule": "61 * * * *" } }, async (): Promise<void> => {}) },
    });
    const dataDir = path.join(scratch, "bad-schedule");
    await expect(startEndure({ dataDir, services: [bad] })).rejects.toThrow(/cron/);
    // Nothing was registered, and the data directory is free for a corrected start.
    const next = await startEndure({ dataDir, services: [greeter] });
    try {
      const services = ((await (await fetch(`${next.adminUrl}/services`)).json()) as { services: { name: string }[] }).services;
      expect(services.map((x) => x.name)).toEqual(["Greeter"]);
    } finally {
      await next.stop();
    }
  });
});
