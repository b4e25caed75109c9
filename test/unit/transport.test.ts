// The HTTP/2 transport against a raw HTTP/2 server written here: what Endure does when the
// deployment's side of the session misbehaves.
import { constants, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MessageType,
  TransportError,
  TransportErrorCode,
  closeAllSessions,
  contentTypeFor,
  encodeMessageFrame,
  openInvocationStream,
  type Frame,
} from '../../src/protocol/index.ts';

let server: Http2Server | undefined;

afterEach(async () => {
  closeAllSessions();
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** Starts a raw HTTP/2 server; `onStream` gets each stream and its index (0, 1, …). */
async function rawServer(onStream: (stream: ServerHttp2Stream, index: number) => void): Promise<{ url: string; sessions: () => number }> {
  let sessions = 0;
  let streams = 0;
  const s = createServer();
  s.on('session', () => sessions++);
  s.on('stream', (stream) => {
    stream.on('error', () => undefined);
    onStream(stream, streams++);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  server = s;
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, sessions: () => sessions };
}

async function collect(frames: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

function invoke(url: string) {
  const stream = openInvocationStream({ url, service: 'S', handler: 'h', protocolVersion: 6, mode: 'request-response' });
  stream.endInput();
  return collect(stream.frames());
}

describe('HTTP/2 sessions to a deployment', () => {
  it('a stream refused for lack of session memory retires the session; the next attempt connects anew', async () => {
    const { url, sessions } = await rawServer((stream, index) => {
      if (index === 0) {
        stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        return;
      }
      stream.respond({ ':status': 200, 'content-type': contentTypeFor(6) });
      stream.end(encodeMessageFrame(MessageType.End, {}));
    });

    const err = await invoke(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe(TransportErrorCode.Unreachable);

    const frames = await invoke(url);
    expect(frames.map((f) => f.type)).toEqual([MessageType.End]);
    expect(sessions()).toBe(2);
    expect((err as TransportError).message).toMatch(/ran out of memory.*ENHANCE_YOUR_CALM/);
  });
});
