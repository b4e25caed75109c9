// The example services and `npm start` (examples/dev.js): what the README promises works.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  TARGET,
  ManagedProcess,
  call,
  freePort,
  killAllStarted,
  register,
  startEndure,
  startServices,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";

describe("example services", () => {
  let endure: EndureProcess;
  let services: ServicesProcess;

  beforeAll(async () => {
    services = await startServices("examples/services.ts");
    endure = await startEndure();
    await register(endure.adminUrl, services.url);
  });

  afterAll(async () => {
    await endure?.stop();
    await services?.stop();
    await killAllStarted();
  });

  it("Greeter.greet greets by name", async () => {
    const res = await call(endure.ingressUrl, "/Greeter/greet", "Ada");
    expect(res.status).toBe(200);
    expect(res.json).toBe("Hello, Ada!");
  });

  it("Counter adds per key, reads with get, and resets", async () => {
    const key = `alice-${Date.now()}`;
    expect((await call(endure.ingressUrl, `/Counter/${key}/add`, 5)).json).toBe(5);
    expect((await call(endure.ingressUrl, `/Counter/${key}/add`, 2)).json).toBe(7);
    expect((await call(endure.ingressUrl, `/Counter/${key}/get`)).json).toBe(7);
    expect((await call(endure.ingressUrl, `/Counter/${key}/reset`)).status).toBe(200);
    expect((await call(endure.ingressUrl, `/Counter/${key}/get`)).json).toBe(0);
  });

  it("Onboarding.start runs both steps around a one-second sleep", async () => {
    const started = Date.now();
    const res = await call(endure.ingressUrl, "/Onboarding/start", "Ada");
    expect(res.status).toBe(200);
    expect(res.json).toBe("Ada onboarded: account acct-ada, welcome mail sent to Ada");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});

// dev.js always starts bin/endure.js, so it only runs against Endure.
describe.skipIf(TARGET !== "endure")("npm start", () => {
  let dataDir = "";

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "endure-dev-"));
  });

  afterAll(async () => {
    await killAllStarted();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts Endure with the examples registered, prints curl commands, and stops cleanly on SIGINT", async () => {
    const ingressPort = await freePort();
    const adminPort = await freePort();
    const servicesPort = await freePort();
    const dev = new ManagedProcess(
      "dev",
      process.execPath,
      [path.join(REPO_ROOT, "examples", "dev.js")],
      {
        ...process.env,
        ENDURE_INGRESS_BIND: `127.0.0.1:${ingressPort}`,
        ENDURE_ADMIN_BIND: `127.0.0.1:${adminPort}`,
        ENDURE_DATA_DIR: dataDir,
        PORT: String(servicesPort),
      },
      REPO_ROOT,
    );
    await dev.waitForOutput(/Press Ctrl-C to stop/, 45_000);
    expect(dev.log).toContain(`curl -X POST localhost:${ingressPort}/Greeter/greet -H 'content-type: application/json' -d '"Ada"'`);

    const res = await call(`http://127.0.0.1:${ingressPort}`, "/Greeter/greet", "Ada");
    expect(res.status).toBe(200);
    expect(res.json).toBe("Hello, Ada!");
    // The web UI it points to is served.
    expect(dev.log).toContain(`web UI  http://127.0.0.1:${adminPort}/ui`);
    const ui = await fetch(`http://127.0.0.1:${adminPort}/ui`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('<script type="module" src="/ui/app.js">');

    await dev.kill("SIGINT");
    expect(dev.exit).toBe(0);
    // Both children are gone: their ports refuse connections.
    await expect(fetch(`http://127.0.0.1:${ingressPort}/restate/health`)).rejects.toThrow();
  });
});
