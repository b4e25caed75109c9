// The connection to a deployment and what a service may send on it: one oversized message
// must not wedge the HTTP/2 session every invocation of the deployment shares, and a message
// type the protocol does not define fails the attempt instead of growing the journal. The
// misbehaving deployments are raw HTTP/2 servers written here, speaking the protocol by hand.
import { createServer, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FrameDecoder,
  MessageType,
  decodeFrame,
  encodeFrame,
  encodeMessageFrame,
  type Frame,
} from "../../src/protocol/index.ts";
import { call, eventually, register, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;
const rawServers: Http2Server[] = [];
const rawSessions = new Set<ServerHttp2Session>();

beforeAll(async () => {
  // The default ingress body limit (10 MiB): the session defect sat just below it.
  suite = await startSuite({ env: { ENDURE_RETRY_INITIAL_INTERVAL: "50ms", ENDURE_RETRY_MAX_INTERVAL: "200ms" } });
});

afterAll(async () => {
  for (const session of rawSessions) session.destroy();
  await Promise.all(rawServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await suite?.stop();
});

/** One attempt as the raw deployment sees it: the Start message, and the stream to answer on. */
interface RawAttempt {
  readonly index: number;
  readonly knownEntries: number;
  readonly stream: ServerHttp2Stream;
  /** Sends the response head (once) and these frames; `end` closes the response. */
  send(frames: Uint8Array[], end?: boolean): void;
}

/**
 * Serves one SERVICE with one handler `run`, protocol V5, bidi: discovery answers the manifest,
 * each invocation attempt is handed to `onAttempt` once its Start message arrived.
 */
async function rawDeployment(service: string, onAttempt: (attempt: RawAttempt) => void): Promise<string> {
  let attempts = 0;
  const server = createServer();
  server.on("session", (session) => {
    rawSessions.add(session);
    session.on("close", () => rawSessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    if (headers[":path"] === "/discover") {
      stream.respond({ ":status": 200, "content-type": "application/vnd.restate.endpointmanifest.v2+json" });
      stream.end(
        JSON.stringify({
          protocolMode: "BIDI_STREAM",
          minProtocolVersion: 5,
          maxProtocolVersion: 5,
          services: [{ name: service, ty: "SERVICE", handlers: [{ name: "run" }] }],
        }),
      );
      return;
    }
    const contentType = String(headers["content-type"]);
    const decoder = new FrameDecoder();
    let started = false;
    let responded = false;
    stream.on("data", (chunk: Buffer) => {
      if (started) return;
      const start = decoder.push(chunk).find((f) => f.type === MessageType.Start);
      if (!start) return;
      started = true;
      const message = decodeFrame(start as Frame & { type: typeof MessageType.Start });
      onAttempt({
        index: attempts++,
        knownEntries: message.knownEntries,
        stream,
        send(frames, end = false) {
          if (stream.destroyed || stream.closed) return;
          if (!responded) stream.respond({ ":status": 200, "content-type": contentType });
          responded = true;
          for (const f of frames) stream.write(f);
          if (end) stream.end();
        },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  rawServers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await register(suite.endure.adminUrl, url);
  return url;
}

const retryableError = () => encodeMessageFrame(MessageType.Error, { code: 500, message: "try again" });
const output = (json: string) => [
  encodeMessageFrame(MessageType.OutputCommand, { result: { case: "value", value: { content: new TextEncoder().encode(json) } } }),
  encodeMessageFrame(MessageType.End, {}),
];

describe("sessions to a deployment", () => {
  it("a body just under the 10 MiB limit does not break later calls to the same deployment", async () => {
    // Above Node's default HTTP/2 session memory (10,000,000 bytes), below the ingress limit.
    const big = "x".repeat(10_400_000 - 2); // JSON quotes make it 10,400,000 bytes
    const first = await call(suite.endure.ingressUrl, "/Echo/echo", undefined, {}, { raw: JSON.stringify(big), timeoutMs: 30_000 });
    expect(first.status, suite.logs()).toBe(200);
    expect((first.json as string).length).toBe(big.length);
    for (let i = 0; i < 3; i++) {
      const next = await call(suite.endure.ingressUrl, "/Echo/echo", `after-${i}`, {}, { timeoutMs: 15_000 });
      expect(next.status, suite.logs()).toBe(200);
      expect(next.json).toBe(`after-${i}`);
    }
  }, 90_000);
});

describe("message types a service sends", () => {
  it("an unknown command type fails the attempt and is not journaled; custom entries are", async () => {
    const service = uid("Raw").replace(/-/g, "_");
    const seen: number[] = [];
    await rawDeployment(service, (attempt) => {
      seen.push(attempt.knownEntries);
      if (attempt.index === 0) attempt.send([encodeFrame(0xfc01, new Uint8Array([1, 2, 3])), retryableError()], true);
      else if (attempt.index < 3) attempt.send([encodeFrame(0x0415, new Uint8Array([8, 1])), retryableError()], true);
      else attempt.send(output('"done"'), true);
    });
    const res = await call(suite.endure.ingressUrl, `/${service}/run`, "go", {}, { timeoutMs: 20_000 });
    expect(res.status, suite.logs()).toBe(200);
    expect(res.json).toBe("done");
    // Input, then the custom entry; the unknown command never joins them.
    expect(seen).toEqual([1, 2, 2, 2]);
    await eventually(async () => (suite.endure.log.includes("protocol violation: unknown message type 0x0415") ? true : undefined), 5_000, "the violation in the log");
  });
});
