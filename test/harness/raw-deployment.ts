// A deployment that speaks the service protocol by hand, for tests of what Endure does when a
// service misbehaves (messages the official SDK would never send, streams that stall). It
// answers discovery for one SERVICE with one handler `run` (protocol V5, bidi) and hands each
// invocation attempt to the test once its Start message arrived.
import { createServer, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { FrameDecoder, MessageType, decodeFrame, encodeMessageFrame, type Frame } from "../../src/protocol/index.ts";
import { register } from "./http.ts";

/** One attempt as the raw deployment sees it. */
export interface RawAttempt {
  /** 0 for the first attempt the deployment sees, then 1, 2, … */
  readonly index: number;
  /** `known_entries` of the Start message: the journal length Endure replays. */
  readonly knownEntries: number;
  readonly stream: ServerHttp2Stream;
  /** Resolves when the stream closed, whoever closed it. */
  readonly closed: Promise<void>;
  /**
   * Sends the response head (once), then these bytes; `end` closes the response. Resolves once
   * the bytes left for the socket (flow control lets them go only as Endure reads).
   */
  send(frames: Uint8Array[], end?: boolean): Promise<void>;
}

/** A running raw deployment. */
export interface RawDeployment {
  readonly url: string;
  /** Closes the server and every session Endure holds to it. */
  close(): Promise<void>;
}

/** Starts a raw deployment serving `service` and registers it with Endure's admin API. */
export async function startRawDeployment(adminUrl: string, service: string, onAttempt: (attempt: RawAttempt) => void): Promise<RawDeployment> {
  let attempts = 0;
  const sessions = new Set<ServerHttp2Session>();
  const server = createServer();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
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
    const closed = new Promise<void>((resolve) => stream.once("close", () => resolve()));
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
        closed,
        send(frames, end = false) {
          if (stream.destroyed || stream.closed) return Promise.resolve();
          if (!responded) stream.respond({ ":status": 200, "content-type": contentType });
          responded = true;
          const written = new Promise<void>((resolve) => stream.write(Buffer.concat(frames), () => resolve()));
          if (end) stream.end();
          return written;
        },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    await register(adminUrl, url);
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}

/** Frames of a successful end: the output (JSON text) and End. */
export function rawOutput(json: string): Uint8Array[] {
  return [
    encodeMessageFrame(MessageType.OutputCommand, { result: { case: "value", value: { content: new TextEncoder().encode(json) } } }),
    encodeMessageFrame(MessageType.End, {}),
  ];
}

/** An ErrorMessage: the attempt failed and is to be retried. */
export function rawRetryableError(): Uint8Array {
  return encodeMessageFrame(MessageType.Error, { code: 500, message: "try again" });
}
