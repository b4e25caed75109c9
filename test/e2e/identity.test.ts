// Request identity end to end: a service process built with the official SDK and
// `withIdentityV1(publicKey)` accepts an Endure server holding the matching private key
// (discovery and invocations), and refuses one holding another key, and unsigned requests.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TARGET,
  call,
  killAllStarted,
  register,
  startEndure,
  startServices,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";
import { RequestIdentity } from "../../src/protocol/index.ts";

let scratch: string;
let services: ServicesProcess;
let signed: EndureProcess;
let stranger: EndureProcess;

/** Writes a fresh Ed25519 private key as PEM and returns its path and `publickeyv1_` key. */
async function newKey(name: string): Promise<{ file: string; publicKey: string }> {
  const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const file = path.join(scratch, name);
  await writeFile(file, pem, { mode: 0o600 });
  return { file, publicKey: RequestIdentity.fromPem(pem).publicKey };
}

// Endure's variable and error messages: Restate takes its key and words its errors otherwise.
describe.skipIf(TARGET !== "endure")("request identity", () => {
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), "endure-identity-"));
    const key = await newKey("endure.pem");
    const otherKey = await newKey("other.pem");
    services = await startServices("test/services/identity.ts", { IDENTITY_KEY: key.publicKey });
    [signed, stranger] = await Promise.all([
      startEndure({ env: { ENDURE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE: key.file } }),
      startEndure({ env: { ENDURE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE: otherKey.file } }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([signed?.stop(), stranger?.stop(), services?.stop()]);
    await killAllStarted();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("a server holding the matching key registers the endpoint and runs its handlers", async () => {
    const deployment = await register(signed.adminUrl, services.url);
    expect(deployment.services.map((s) => s.name).sort()).toEqual(["Counter", "Echo"]);

    const greet = await call(signed.ingressUrl, "/Echo/greet", "Ada");
    expect(greet.status, greet.text).toBe(200);
    expect(greet.json).toBe("Hello, Ada!");
    await call(signed.ingressUrl, "/Counter/signed/add", 2);
    const total = await call(signed.ingressUrl, "/Counter/signed/add", 3);
    expect(total.status, total.text).toBe(200);
    expect(total.json).toBe(5);
  });

  it("a server holding another key is refused by the endpoint, and registers nothing", async () => {
    const res = await fetch(`${stranger.adminUrl}/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uri: services.url }),
    });
    const body = (await res.json()) as { message: string };
    expect(res.status).toBe(500);
    expect(body.message).toMatch(/answered 401 to discovery/);
    const list = (await (await fetch(`${stranger.adminUrl}/deployments`)).json()) as { deployments: unknown[] };
    expect(list.deployments).toEqual([]);
    expect(services.log).toMatch(/Rejecting request as its JWT did not validate/);
  });

  it("an unsigned request is refused by the endpoint", async () => {
    // The endpoint speaks HTTP/2 with prior knowledge, which fetch does not.
    const status = await http2Status(`${services.url}/discover`);
    expect(status).toBe(401);
  });
});

async function http2Status(url: string): Promise<number> {
  const { connect } = await import("node:http2");
  const { origin, pathname } = new URL(url);
  const session = connect(origin);
  try {
    return await new Promise<number>((resolve, reject) => {
      session.on("error", reject);
      const req = session.request({ ":path": pathname, accept: "application/vnd.restate.endpointmanifest.v3+json" });
      req.on("response", (h) => resolve(Number(h[":status"])));
      req.on("error", reject);
      req.end();
    });
  } finally {
    session.destroy();
  }
}
