// Deployments and versions: an in-flight invocation finishes on the deployment it started on,
// new invocations go to the newest deployment of the service, and removing a deployment is
// refused unless forced.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  eventually,
  get,
  killAllStarted,
  readEffects,
  register,
  startEndure,
  startServices,
  uid,
  type EndureProcess,
  type ServicesProcess,
} from "../../harness/index.ts";
import { admin, invocationIdOf } from "./helpers.ts";

const ENTRY = "test/services/semantics-versions.ts";
let server: EndureProcess;
let v1: ServicesProcess;
let scratch: string;
let effectsFile: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "endure-versions-"));
  effectsFile = path.join(scratch, "effects.jsonl");
  server = await startEndure({ env: { ENDURE_INACTIVITY_TIMEOUT: process.env.ENDURE_INACTIVITY_TIMEOUT ?? "200ms" } });
  v1 = await startServices(ENTRY, { EFFECTS_FILE: effectsFile, SEM_VERSION: "1" });
});

afterAll(async () => {
  await server?.stop();
  await killAllStarted();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("deployments and versions", () => {
  it("in-flight invocations stay on their deployment; new ones go to the newest; removal needs force", async () => {
    const d1 = await register(server.adminUrl, v1.url);
    expect((await call(server.ingressUrl, "/SemVersioned/which")).json).toBe("v1");

    const id = uid("ver");
    const sent = await call(server.ingressUrl, "/SemVersioned/slow/send", { id, ms: 2500 });
    const inflight = invocationIdOf(sent);
    await eventually(async () => ((await readEffects(effectsFile, id)).length > 0 ? true : undefined));

    const v2 = await startServices(ENTRY, { EFFECTS_FILE: effectsFile, SEM_VERSION: "2" });
    const d2 = await register(server.adminUrl, v2.url);
    expect(d2.id).not.toBe(d1.id);
    expect((await call(server.ingressUrl, "/SemVersioned/which")).json).toBe("v2");
    const svc = await admin(server.adminUrl, "GET", "/services/SemVersioned");
    expect((svc.json as { deployment_id: string; revision: number }).deployment_id).toBe(d2.id);
    expect((svc.json as { revision: number }).revision).toBe(2);

    // Removing the deployment the in-flight invocation needs is refused without force.
    const refused = await admin(server.adminUrl, "DELETE", `/deployments/${d1.id}`);
    expect(refused.status, refused.text).toBe(501);
    expect((await admin(server.adminUrl, "GET", `/deployments/${d1.id}`)).status).toBe(200);

    const out = await get(`${server.ingressUrl}/restate/invocation/${inflight}/attach`);
    expect(out.status, out.text).toBe(200);
    expect(out.json).toBe("v1");
    const enters = (await readEffects(effectsFile, id)).filter((e) => e.kind === "enter");
    // Started, suspended during the sleep, resumed: both executions on version 1.
    expect(enters.length).toBeGreaterThanOrEqual(2);
    expect(new Set(enters.map((e) => e.version))).toEqual(new Set(["1"]));

    const fresh = await call(server.ingressUrl, "/SemVersioned/slow", { id: `${id}-new`, ms: 10 });
    expect(fresh.json).toBe("v2");

    const forced = await admin(server.adminUrl, "DELETE", `/deployments/${d1.id}?force=true`);
    expect(forced.status, forced.text).toBe(202);
    expect((await admin(server.adminUrl, "GET", `/deployments/${d1.id}`)).status).toBe(404);
    expect((await call(server.ingressUrl, "/SemVersioned/which")).json).toBe("v2");
    await v2.stop();
  });
});
