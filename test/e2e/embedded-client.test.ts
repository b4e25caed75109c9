// endure.client: the typed client of @restatedev/restate-sdk-clients on an embedded Endure, its
// requests handed to the ingress handler in the same process (its base URL never resolves, so a
// request that went to the network would fail). Calls, sends with idempotency keys and delays,
// attach to a send, workflows, and errors, typed by the service definitions the caller passed.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndureTestEnvironment, rpc, startEndure, type EmbeddedEndure } from "../../src/index.ts";
import { counter, greeter, signup } from "../services/typed-client.ts";

let scratch: string;
let endure: EmbeddedEndure;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "endure-embedded-client-"));
  endure = await startEndure({ dataDir: scratch, services: [greeter, counter, signup], partitions: 4 });
});

afterAll(async () => {
  await endure?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("endure.client", () => {
  it("calls a service handler and returns its typed result", async () => {
    const greeting: string = await endure.client.serviceClient(greeter).greet("Ada");
    expect(greeting).toBe("Hello, Ada!");
  });

  it("calls a virtual object by key: each key keeps its own state", async () => {
    const key = `k-${process.pid}-${Date.now()}`;
    expect(await endure.client.objectClient(counter, key).add(1)).toBe(1);
    expect(await endure.client.objectClient(counter, key).add(41)).toBe(42);
    expect(await endure.client.objectClient(counter, `${key}-other`).get()).toBe(0);
    expect(await endure.client.objectClient(counter, key).get()).toBe(42);
  });

  it("submits a workflow, attaches to it, and calls its shared handler", async () => {
    const id = `wf-${process.pid}-${Date.now()}`;
    const wf = endure.client.workflowClient(signup, id);
    const submission = await wf.workflowSubmit({ email: "ada@example.com" });
    expect(submission.invocationId).toMatch(/^inv_/);
    const out = await wf.workflowAttach();
    expect(out).toEqual({ welcome: "ada@example.com", code: "code-for-ada@example.com" });
    expect(await wf.workflowOutput()).toEqual({ ready: true, result: out });
    expect(await wf.code()).toBe("code-for-ada@example.com");
  });

  it("sends with an idempotency key and a delay, then attaches to the result", async () => {
    const idempotencyKey = `send-${process.pid}-${Date.now()}`;
    const opts = rpc.sendOpts<string>({ idempotencyKey, delay: { milliseconds: 100 } });
    const first = await endure.client.serviceSendClient(greeter).greet("Bo", opts);
    expect(first.invocationId).toMatch(/^inv_/);
    // The same key is the same invocation: the second send attaches to the first.
    const second = await endure.client.serviceSendClient(greeter).greet("Bo", opts);
    expect(second.invocationId).toBe(first.invocationId);
    expect(await endure.client.result(first)).toBe("Hello, Bo!");
  });

  it("sends to a virtual object twice with one idempotency key: the call runs once", async () => {
    const key = `send-obj-${process.pid}-${Date.now()}`;
    const opts = rpc.sendOpts<number>({ idempotencyKey: `add-${key}` });
    const send = await endure.client.objectSendClient(counter, key).add(5, opts);
    await endure.client.objectSendClient(counter, key).add(5, opts);
    expect(await endure.client.result(send)).toBe(5);
    expect(await endure.client.objectClient(counter, key).get()).toBe(5);
  });

  it("a terminal error of the handler reaches the caller with its code and message", async () => {
    const err = await endure.client.serviceClient(greeter).refuse("Cy").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("no greeting for Cy");
    expect((err as { status?: number }).status).toBe(409);
  });
});

describe("EndureTestEnvironment.client", () => {
  it("makes the same typed calls to the services under test", async () => {
    const env = await EndureTestEnvironment.start({ services: [greeter, counter] });
    try {
      expect(await env.client.serviceClient(greeter).greet("Di")).toBe("Hello, Di!");
      expect(await env.client.objectClient(counter, "c").add(3)).toBe(3);
      expect(await env.stateOf(counter, "c").get<number>("total")).toBe(3);
    } finally {
      await env.stop();
    }
  });
});

describe("an embedded Endure without listeners", () => {
  it("opens no port with ingress and admin false; the client still reaches the services, state survives a restart", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "endure-embedded-nolisten-"));
    const openBefore = listeningPorts();
    // The file's other Endure (started with the defaults) listens on two ports: the probe sees them.
    expect(openBefore.length).toBeGreaterThanOrEqual(2);
    const quiet = await startEndure({ dataDir: dir, services: [greeter, counter], partitions: 4, ingress: false, admin: false });
    try {
      expect(quiet.ingressUrl).toBeUndefined();
      expect(quiet.adminUrl).toBeUndefined();
      // No new TCP listener of this process.
      expect(listeningPorts()).toEqual(openBefore);
      expect(await quiet.client.serviceClient(greeter).greet("Ed")).toBe("Hello, Ed!");
      expect(await quiet.client.objectClient(counter, "q").add(2)).toBe(2);
    } finally {
      await quiet.stop();
    }
    const again = await startEndure({ dataDir: dir, services: [greeter, counter], partitions: 4, ingress: false, admin: false });
    try {
      expect(await again.client.objectClient(counter, "q").add(3)).toBe(5);
    } finally {
      await again.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The TCP ports this process listens on (from /proc: its sockets' inodes in LISTEN state). */
function listeningPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const file of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A is LISTEN; column 9 is the inode.
      if (cols.length > 9 && cols[3] === "0A" && inodes.has(cols[9]!)) ports.push(Number.parseInt(cols[1]!.split(":")[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}
