// Endure embedded in an application process (startEndure, services in-process): it answers
// calls like the server, and a kill -9 of the whole application mid-work loses nothing: started
// again on the same data directory, the work resumes and acknowledged steps never run again.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  ManagedProcess,
  call,
  eventually,
  freePort,
  get,
  killAllStarted,
  readEffects,
  sleep,
  startEndure,
  uid,
} from "../harness/index.ts";

let scratch: string;
let env: Record<string, string>;
let app: ManagedProcess;
let ingressUrl: string;

async function startApp(): Promise<void> {
  app = new ManagedProcess("embedded app", process.execPath, ["--import", "tsx", "test/services/embedded.ts"], { ...process.env, ...env }, REPO_ROOT);
  await app.waitForOutput(/ready /, 30_000);
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "endure-embedded-"));
  const ingress = await freePort();
  env = {
    EMBEDDED_DATA_DIR: path.join(scratch, "data"),
    EMBEDDED_INGRESS: `127.0.0.1:${ingress}`,
    EMBEDDED_ADMIN: `127.0.0.1:${await freePort()}`,
    EFFECTS_FILE: path.join(scratch, "effects.jsonl"),
  };
  ingressUrl = `http://127.0.0.1:${ingress}`;
  await startApp();
});

afterAll(async () => {
  await killAllStarted();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("embedded mode", () => {
  it("answers calls to in-process services, with no deployment registered by hand", async () => {
    const res = await call(ingressUrl, "/Echo/greet", "embedded");
    expect(res.status, app.tail()).toBe(200);
    expect(res.json).toBe("Hello, embedded!");
    const key = uid("counter");
    expect((await call(ingressUrl, `/Counter/${key}/add`, 2)).json).toBe(2);
    expect((await call(ingressUrl, `/Counter/${key}/add`, 3)).json).toBe(5);
  });

  it("a five-step handler in an application killed with kill -9 completes after restart, acknowledged steps once", async () => {
    const id = uid("embedded-steps");
    const sent = await call(ingressUrl, "/Steps/five/send", { id, stepMs: 500 });
    expect(sent.status).toBe(202);
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    await eventually(async () => {
      const steps = (await readEffects(env.EFFECTS_FILE!, id)).map((e) => e.step as number);
      return steps.includes(2) ? true : undefined;
    }, 15_000, "step 2 to start");
    await sleep(100);
    await app.kill("SIGKILL");
    const atKill = (await readEffects(env.EFFECTS_FILE!, id)).map((e) => e.step as number);
    const lastStarted = Math.max(...atKill);
    expect(lastStarted).toBeLessThan(5);

    await startApp();
    const res = await get(`${ingressUrl}/restate/invocation/${invocationId}/attach`);
    expect(res.status, app.tail()).toBe(200);
    expect(res.json).toEqual([10, 20, 30, 40, 50]);

    const runs = (await readEffects(env.EFFECTS_FILE!, id)).map((e) => e.step as number);
    for (let step = 1; step <= 5; step++) {
      const times = runs.filter((s) => s === step).length;
      if (step === lastStarted) expect(times, `step ${step} (in flight at the kill)`).toBeLessThanOrEqual(2);
      else expect(times, `step ${step} in ${JSON.stringify(runs)}`).toBe(1);
    }
    expect([...new Set(runs)]).toEqual([1, 2, 3, 4, 5]);
  });

  it("endure server on the application's data directory fails in-process work clearly, and the application finishes it", async () => {
    const id = uid("embedded-handover");
    const sent = await call(ingressUrl, "/Steps/five/send", { id, stepMs: 400 });
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    await eventually(async () => ((await readEffects(env.EFFECTS_FILE!, id)).length > 0 ? true : undefined), 15_000, "step 1 to start");
    await app.kill("SIGKILL");

    const server = await startEndure({ dataDir: env.EMBEDDED_DATA_DIR! });
    try {
      await eventually(
        async () => (/inprocess:\/\/services is served in-process by an application embedding Endure/.test(server.log) ? true : undefined),
        15_000,
        "the server to report the in-process deployment",
      );
    } finally {
      await server.stop();
    }

    await startApp();
    const res = await get(`${ingressUrl}/restate/invocation/${invocationId}/attach`);
    expect(res.status, app.tail()).toBe(200);
    expect(res.json).toEqual([10, 20, 30, 40, 50]);
  });
});
