// Registering hostile endpoints on a real server process: a discovery answer of hundreds of MiB
// (which used to crash the server), an endpoint that trickles a byte every two seconds (which
// used to hold a registration for minutes), and an error page full of credentials.
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGET, get, killAllStarted, startEndure, type EndureProcess } from "../harness/index.ts";

const MANIFEST_TYPE = "application/vnd.restate.endpointmanifest.v3+json";
const MiB = 1024 * 1024;

let endure: EndureProcess;
let endpoint: Server;
let endpointUrl: string;
const sockets = new Set<Socket>();
/** Bytes of the bomb that left the endpoint, per request path. */
const sent = { bytes: 0 };

async function register(uri: string): Promise<{ status: number; body: { code: number; message: string; restate_code?: string } }> {
  const res = await fetch(`${endure.adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri, use_http_11: true }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: (await res.json()) as { code: number; message: string; restate_code?: string } };
}

// Endure's own bounds and messages: Restate has no such bound to compare with.
describe.skipIf(TARGET !== "endure")("discovery of hostile endpoints", () => {
  beforeAll(async () => {
    endpoint = createServer((req, res) => {
      if (req.url?.startsWith("/bomb/")) {
        // 600 MiB of manifest, streamed without a length, as fast as the reader takes it.
        const chunk = Buffer.alloc(MiB, 0x20);
        res.writeHead(200, { "content-type": MANIFEST_TYPE });
        res.write('{"services":[');
        const pump = (): void => {
          while (sent.bytes < 600 * MiB && !res.destroyed) {
            sent.bytes += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          if (!res.destroyed) res.end("]}");
        };
        res.on("error", () => undefined);
        pump();
      } else if (req.url?.startsWith("/trickle/")) {
        res.writeHead(200, { "content-type": MANIFEST_TYPE });
        const timer = setInterval(() => res.write(" "), 2000);
        res.on("close", () => clearInterval(timer));
      } else {
        res.writeHead(502, { "content-type": "text/html" });
        res.end(
          `<html><head><title>502 Bad Gateway</title><script>var csrf="c0ffee00deadbeef1234567890abcdef"</script></head>` +
            `<body><h1>Bad Gateway</h1><p>Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.s3cr3tS1gnature</p>${"<p>upstream detail</p>".repeat(5000)}</body></html>`,
        );
      }
    });
    endpoint.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
    endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
    endure = await startEndure();
  });

  afterAll(async () => {
    await endure?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (endpoint ? endpoint.close(() => resolve()) : resolve()));
    await killAllStarted();
  });

  it("a 600 MiB discovery answer is refused with 413 and the server keeps serving", async () => {
    const { status, body } = await register(`${endpointUrl}/bomb`);
    expect(status, JSON.stringify(body)).toBe(413);
    expect(body.restate_code).toBe("META0013");
    expect(body.message).toMatch(/larger than 4 MiB/);
    expect(sent.bytes).toBeLessThan(100 * MiB);
    expect((await get(`${endure.adminUrl}/health`)).status).toBe(200);
    expect((await get(`${endure.ingressUrl}/restate/health`)).status).toBe(200);
    expect((await get(`${endure.adminUrl}/deployments`)).json).toEqual({ deployments: [] });
  });

  it("an endpoint trickling a byte every 2 s fails registration within the 10 s deadline", async () => {
    const started = Date.now();
    const { status, body } = await register(`${endpointUrl}/trickle`);
    const took = Date.now() - started;
    expect(status).toBe(500);
    expect(body.message).toMatch(/did not answer within 10000 ms/);
    expect(took).toBeLessThan(13_000);
    expect((await get(`${endure.adminUrl}/deployments`)).json).toEqual({ deployments: [] });
  });

  it("an error page comes back as its status and a short excerpt, without its credentials", async () => {
    const { status, body } = await register(`${endpointUrl}/error`);
    expect(status).toBe(500);
    expect(body.message).toMatch(/answered 502 to discovery: 502 Bad Gateway/);
    expect(body.message).not.toMatch(/c0ffee00deadbeef|eyJhbGciOiJIUzI1NiJ9|s3cr3tS1gnature/);
    expect(body.message.length).toBeLessThan(500);
  });
});
